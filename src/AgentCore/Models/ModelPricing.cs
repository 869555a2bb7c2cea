namespace AgentCore;

/// <summary>
/// Prices of a model in USD per million tokens, with an optional long-context tier: a model call whose prompt (input,
/// cache read and cache write tokens together) is above <see cref="LongContextThreshold"/> is priced, every token of
/// it, at <see cref="LongContext"/> — as Anthropic prices Claude Sonnet above 200 000 prompt tokens and Google prices Gemini.
/// </summary>
/// <example><code>
/// new ModelPricing(3m, 15m, 0.30m, 3.75m) { LongContextThreshold = 200_000, LongContext = new ModelPricing(6m, 22.50m, 0.60m, 7.50m) }
/// </code></example>
/// <param name="InputPerMillion">Uncached input tokens.</param>
/// <param name="OutputPerMillion">Output tokens (reasoning included).</param>
/// <param name="CacheReadPerMillion">Input tokens read from a prompt cache.</param>
/// <param name="CacheWritePerMillion">Input tokens written to a prompt cache.</param>
public sealed record ModelPricing(
    decimal InputPerMillion,
    decimal OutputPerMillion,
    decimal CacheReadPerMillion = 0m,
    decimal CacheWritePerMillion = 0m)
{
    /// <summary>A model that costs nothing (local models, tests).</summary>
    public static ModelPricing Free { get; } = new(0m, 0m);

    /// <summary>The prompt size, in tokens, above which a call is priced at <see cref="LongContext"/>. Ignored without <see cref="LongContext"/>; above 0 when it is set.</summary>
    public long LongContextThreshold { get; init; }

    /// <summary>The prices of a call whose prompt is above <see cref="LongContextThreshold"/>; null when the model has one tier. Its own tier is ignored.</summary>
    public ModelPricing? LongContext { get; init; }
}
