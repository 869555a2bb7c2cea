using System.Text.Json.Serialization;

namespace AgentCore;

/// <summary>
/// One line of the usage history, in letta-code's <c>sessions.jsonl</c> shape: the JSON names below are
/// exactly letta-code's, so either program reads the other's file.
/// </summary>
public sealed record SessionHistoryEntry
{
    /// <summary>The agent (app) that ran the session.</summary>
    [JsonPropertyName("agent_id")] public string AgentId { get; init; } = "";

    /// <summary>The session.</summary>
    [JsonPropertyName("session_id")] public string SessionId { get; init; } = "";

    /// <summary>When the entry was written, in Unix milliseconds.</summary>
    [JsonPropertyName("timestamp")] public long Timestamp { get; init; }

    /// <summary>The project (for example the working directory) the session belongs to.</summary>
    [JsonPropertyName("project")] public string Project { get; init; } = "";

    /// <summary>The model id.</summary>
    [JsonPropertyName("model")] public string Model { get; init; } = "";

    /// <summary>The provider id.</summary>
    [JsonPropertyName("provider")] public string Provider { get; init; } = "";

    /// <summary>Token usage.</summary>
    [JsonPropertyName("usage")] public HistoryUsage Usage { get; init; } = new();

    /// <summary>Time spent.</summary>
    [JsonPropertyName("duration")] public HistoryDuration Duration { get; init; } = new();

    /// <summary>What it cost.</summary>
    [JsonPropertyName("cost")] public HistoryCost Cost { get; init; } = new();

    /// <summary>How many messages the session held at the end (end entries only).</summary>
    [JsonPropertyName("message_count")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MessageCount { get; init; }

    /// <summary>How many tool calls were made (end entries only).</summary>
    [JsonPropertyName("tool_call_count")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? ToolCallCount { get; init; }

    /// <summary>Why it ended: <c>completed</c>, <c>aborted</c>, <c>error</c> or <c>max_steps</c> (end entries only).</summary>
    [JsonPropertyName("exit_reason")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ExitReason { get; init; }
}

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
}

/// <summary>The <c>duration</c> object of a <see cref="SessionHistoryEntry"/>.</summary>
public sealed record HistoryDuration
{
    /// <summary>Milliseconds spent waiting on the model's API.</summary>
    [JsonPropertyName("api_ms")] public double ApiMs { get; init; }
    /// <summary>Milliseconds of wall-clock time.</summary>
    [JsonPropertyName("wall_ms")] public double WallMs { get; init; }
}

/// <summary>The <c>cost</c> object of a <see cref="SessionHistoryEntry"/>.</summary>
public sealed record HistoryCost
{
    /// <summary>The cost type: <see cref="Hosted"/> or <see cref="Byok"/>. AgentCore writes <see cref="Byok"/>.</summary>
    [JsonPropertyName("type")] public string Type { get; init; } = Hosted;
    /// <summary>Credits used on a hosted plan (letta-code).</summary>
    [JsonPropertyName("credits_used")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public decimal? CreditsUsed { get; init; }
    /// <summary>USD spent with the user's own key.</summary>
    [JsonPropertyName("usd_byok")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public decimal? UsdByok { get; init; }

    /// <summary>The <c>hosted</c> cost type.</summary>
    public const string Hosted = "hosted";
    /// <summary>The <c>byok</c> (bring your own key) cost type.</summary>
    public const string Byok = "byok";
}
