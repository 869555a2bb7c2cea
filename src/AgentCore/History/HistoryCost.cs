using System.Text.Json.Serialization;

namespace AgentCore;

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

    /// <summary>The default cost (hosted, no figure), shared: records are immutable.</summary>
    internal static readonly HistoryCost Empty = new();
}
