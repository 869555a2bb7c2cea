using System.Text.Json.Serialization;

namespace AgentCore;

/// <summary>The <c>usage</c> object of a <see cref="SessionHistoryEntry"/>.</summary>
public sealed record HistoryUsage
{
    /// <summary>Input tokens, cached included.</summary>
    [JsonPropertyName("prompt_tokens")] public long PromptTokens { get; init; }
    /// <summary>Output tokens, reasoning included.</summary>
    [JsonPropertyName("completion_tokens")] public long CompletionTokens { get; init; }
    /// <summary>Prompt plus completion tokens.</summary>
    [JsonPropertyName("total_tokens")] public long TotalTokens { get; init; }
    /// <summary>Input tokens read from a prompt cache.</summary>
    [JsonPropertyName("cached_input_tokens")] public long CachedInputTokens { get; init; }
    /// <summary>Input tokens written to a prompt cache.</summary>
    [JsonPropertyName("cache_write_tokens")] public long CacheWriteTokens { get; init; }
    /// <summary>Reasoning tokens.</summary>
    [JsonPropertyName("reasoning_tokens")] public long ReasoningTokens { get; init; }
    /// <summary>The size of the context at the last step (the latest value, not a sum).</summary>
    [JsonPropertyName("context_tokens")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? ContextTokens { get; init; }
    /// <summary>Model calls made.</summary>
    [JsonPropertyName("steps")] public int Steps { get; init; }

    /// <summary>The default (all zero) usage, shared: records are immutable.</summary>
    internal static readonly HistoryUsage Empty = new();
}
