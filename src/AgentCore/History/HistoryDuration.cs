using System.Text.Json.Serialization;

namespace AgentCore;

/// <summary>The <c>duration</c> object of a <see cref="SessionHistoryEntry"/>.</summary>
public sealed record HistoryDuration
{
    /// <summary>Milliseconds spent waiting on the model's API.</summary>
    [JsonPropertyName("api_ms")] public double ApiMs { get; init; }
    /// <summary>Milliseconds of wall-clock time.</summary>
    [JsonPropertyName("wall_ms")] public double WallMs { get; init; }

    /// <summary>The default (all zero) duration, shared: records are immutable.</summary>
    internal static readonly HistoryDuration Empty = new();
}
