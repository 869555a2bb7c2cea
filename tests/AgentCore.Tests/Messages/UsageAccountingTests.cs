using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Messages;

public sealed class UsageAccountingTests
{
    private static readonly ModelPricing Pricing = new(InputPerMillion: 3m, OutputPerMillion: 15m, CacheReadPerMillion: 0.3m, CacheWritePerMillion: 3.75m);

    [Test]
    public void ToTokenUsage_InputIncludesCacheReadAndWrite_SplitIntoDisjointBuckets()
    {
        var details = new UsageDetails
        {
            InputTokenCount = 10_000,
            CachedInputTokenCount = 6_000,
            OutputTokenCount = 800,
            ReasoningTokenCount = 300,
            AdditionalCounts = new() { ["CacheCreationInputTokens"] = 1_500 },
        };

        var usage = UsageAccounting.ToTokenUsage(details);

        usage.Should().Be(new TokenUsage(Input: 2_500, Output: 800, Reasoning: 300, CacheRead: 6_000, CacheWrite: 1_500));
        usage.TotalInput.Should().Be(10_000, "every input token is in exactly one bucket");
        usage.Total.Should().Be(10_800, "reasoning is part of output, not added again");
    }

    [TestCase("CacheCreationInputTokens")]
    [TestCase("cache_creation_input_tokens")]
    [TestCase("CacheWriteInputTokens")]
    [TestCase("cache_write_tokens")]
    public void ToTokenUsage_CacheWriteKeyNamings_Recognized(string key)
    {
        var details = new UsageDetails { InputTokenCount = 1_000, AdditionalCounts = new() { [key] = 400 } };

        UsageAccounting.ToTokenUsage(details).Should().Be(new TokenUsage(600, 0, 0, 0, 400));
    }

    [Test]
    public void ToTokenUsage_CacheLifetimeBreakdown_NotCountedAgain()
    {
        var details = new UsageDetails
        {
            InputTokenCount = 1_000,
            AdditionalCounts = new()
            {
                ["cache_creation.ephemeral_5m_input_tokens"] = 300,
                ["cache_creation.ephemeral_1h_input_tokens"] = 100,
                ["CacheCreationInputTokens"] = 400,
            },
        };

        UsageAccounting.ToTokenUsage(details).CacheWrite.Should().Be(400);
    }

    [Test]
    public void ToTokenUsage_UnrelatedAdditionalCounts_Ignored()
    {
        var details = new UsageDetails { InputTokenCount = 100, OutputTokenCount = 10, AdditionalCounts = new() { ["AcceptedPredictionTokens"] = 7 } };

        UsageAccounting.ToTokenUsage(details).Should().Be(new TokenUsage(100, 10, 0, 0, 0));
    }

    [Test]
    public void ToTokenUsage_CachedMoreThanReportedInput_InputNeverNegative()
    {
        var details = new UsageDetails { InputTokenCount = 100, CachedInputTokenCount = 150 };

        UsageAccounting.ToTokenUsage(details).Should().Be(new TokenUsage(0, 0, 0, 150, 0));
    }

    [Test]
    public void ToTokenUsage_Empty_Zero()
    {
        UsageAccounting.ToTokenUsage(new UsageDetails()).Should().Be(TokenUsage.Zero);
    }

    [Test]
    public void Cost_EachBucketAtItsOwnPrice_ExactDecimal()
    {
        var usage = new TokenUsage(Input: 2_500, Output: 800, Reasoning: 300, CacheRead: 6_000, CacheWrite: 1_500);

        // 2 500 × 3 + 800 × 15 + 6 000 × 0.30 + 1 500 × 3.75 = 7 500 + 12 000 + 1 800 + 5 625 = 26 925 per million.
        UsageAccounting.Cost(usage, Pricing).Should().Be(0.026925m);
    }

    [Test]
    public void Cost_ManySmallSteps_AddUpExactly()
    {
        decimal total = 0m;
        for (int i = 0; i < 1_000; i++)
        {
            total += UsageAccounting.Cost(new TokenUsage(1, 1, 0, 1, 1), Pricing);
        }

        total.Should().Be(0.02205m);
    }

    [Test]
    public void Cost_FreeModelOrNoUsage_Zero()
    {
        UsageAccounting.Cost(new TokenUsage(1_000, 1_000, 0, 1_000, 1_000), ModelPricing.Free).Should().Be(0m);
        UsageAccounting.Cost(TokenUsage.Zero, Pricing).Should().Be(0m);
    }
}
