using System.Text.Json.Serialization;

namespace AgentCore;

/// <summary>
/// Token counts of one model call, one message or one session.
/// </summary>
/// <remarks>
/// The four billed buckets do not overlap, so each token is charged once:
/// <list type="bullet">
/// <item><see cref="Input"/>: input tokens neither read from nor written to a prompt cache (input price);</item>
/// <item><see cref="CacheRead"/>: input tokens read from a prompt cache (cache-read price);</item>
/// <item><see cref="CacheWrite"/>: input tokens written to a prompt cache (cache-write price);</item>
/// <item><see cref="Output"/>: generated tokens, reasoning included (output price).</item>
/// </list>
/// <see cref="Reasoning"/> is the part of <see cref="Output"/> spent on reasoning: informational, never billed twice.
/// Microsoft.Extensions.AI reports cached tokens as part of its input count; the conversion subtracts them
/// (see <c>docs/usage-and-cost.md</c>).
/// </remarks>
/// <param name="Input">Uncached input tokens.</param>
/// <param name="Output">Output tokens, reasoning included.</param>
/// <param name="Reasoning">The reasoning share of <paramref name="Output"/>.</param>
/// <param name="CacheRead">Input tokens read from a prompt cache.</param>
/// <param name="CacheWrite">Input tokens written to a prompt cache.</param>
[JsonConverter(typeof(TokenUsageJsonConverter))]
public readonly record struct TokenUsage(long Input, long Output, long Reasoning, long CacheRead, long CacheWrite)
{
    /// <summary>All tokens: <see cref="Input"/> + <see cref="CacheRead"/> + <see cref="CacheWrite"/> + <see cref="Output"/>.</summary>
    [JsonIgnore]
    public long Total => Input + CacheRead + CacheWrite + Output;

    /// <summary>All input tokens the model read: <see cref="Input"/> + <see cref="CacheRead"/> + <see cref="CacheWrite"/>.</summary>
    [JsonIgnore]
    public long TotalInput => Input + CacheRead + CacheWrite;

    /// <summary>No tokens.</summary>
    public static TokenUsage Zero => default;

    /// <summary>Adds two usages bucket by bucket.</summary>
    /// <param name="left">The first usage.</param>
    /// <param name="right">The second usage.</param>
    /// <returns>The sum.</returns>
    public static TokenUsage operator +(TokenUsage left, TokenUsage right) => new(
        left.Input + right.Input,
        left.Output + right.Output,
        left.Reasoning + right.Reasoning,
        left.CacheRead + right.CacheRead,
        left.CacheWrite + right.CacheWrite);

    /// <summary>Adds two usages bucket by bucket.</summary>
    /// <param name="left">The first usage.</param>
    /// <param name="right">The second usage.</param>
    /// <returns>The sum.</returns>
    public static TokenUsage Add(TokenUsage left, TokenUsage right) => left + right;
}
