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
    [JsonPropertyName("usage")] public HistoryUsage Usage { get; init; } = HistoryUsage.Empty;

    /// <summary>Time spent.</summary>
    [JsonPropertyName("duration")] public HistoryDuration Duration { get; init; } = HistoryDuration.Empty;

    /// <summary>What it cost.</summary>
    [JsonPropertyName("cost")] public HistoryCost Cost { get; init; } = HistoryCost.Empty;

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
