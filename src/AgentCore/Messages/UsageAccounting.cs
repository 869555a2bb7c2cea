using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>Turns provider usage into <see cref="TokenUsage"/> and prices it.</summary>
/// <remarks>
/// Microsoft.Extensions.AI counts cached input inside <see cref="UsageDetails.InputTokenCount"/>. The split:
/// <list type="bullet">
/// <item>cache read = <see cref="UsageDetails.CachedInputTokenCount"/>;</item>
/// <item>cache write = the provider's cache-creation count in <see cref="UsageDetails.AdditionalCounts"/>
/// (a key naming cache creation or cache write, such as <c>CacheCreationInputTokens</c> or <c>cache_creation_input_tokens</c>);</item>
/// <item>uncached input = input − cache read − cache write (never below zero);</item>
/// <item>output = <see cref="UsageDetails.OutputTokenCount"/>, reasoning = <see cref="UsageDetails.ReasoningTokenCount"/> (part of output).</item>
/// </list>
/// Each bucket is priced once at its own rate, so cached tokens are never charged twice.
/// </remarks>
internal static class UsageAccounting
{
    private const decimal PerMillion = 1_000_000m;

    public static TokenUsage ToTokenUsage(UsageDetails details)
    {
        long cacheRead = Math.Max(0, details.CachedInputTokenCount ?? 0);
        long cacheWrite = Math.Max(0, CacheWriteTokens(details));
        long input = Math.Max(0, (details.InputTokenCount ?? 0) - cacheRead - cacheWrite);
        long output = Math.Max(0, details.OutputTokenCount ?? 0);
        long reasoning = Math.Max(0, details.ReasoningTokenCount ?? 0);
        return new TokenUsage(input, output, reasoning, cacheRead, cacheWrite);
    }

    public static decimal Cost(TokenUsage usage, ModelPricing pricing)
    {
        if (pricing.LongContext is { } longContext && usage.Input + usage.CacheRead + usage.CacheWrite > pricing.LongContextThreshold)
        {
            pricing = longContext;
        }

        return (usage.Input * pricing.InputPerMillion
         + usage.Output * pricing.OutputPerMillion
         + usage.CacheRead * pricing.CacheReadPerMillion
         + usage.CacheWrite * pricing.CacheWritePerMillion) / PerMillion;
    }

    private static long CacheWriteTokens(UsageDetails details)
    {
        if (details.AdditionalCounts is not { Count: > 0 } counts)
        {
            return 0;
        }

        foreach (var (key, value) in counts)
        {
            if (IsCacheWriteKey(key))
            {
                return value;
            }
        }

        return 0;
    }

    private static bool IsCacheWriteKey(string key)
    {
        // Totals only: breakdowns by cache lifetime (ephemeral_5m, ...) would count the same tokens again.
        if (key.Contains("ephemeral", StringComparison.OrdinalIgnoreCase) || key.Contains('.', StringComparison.Ordinal))
        {
            return false;
        }

        string flat = key.Replace("_", "", StringComparison.Ordinal);
        return flat.Contains("cachecreation", StringComparison.OrdinalIgnoreCase)
               || flat.Contains("cachewrite", StringComparison.OrdinalIgnoreCase);
    }
}
