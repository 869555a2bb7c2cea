using AgentCore.Tests.Fakes;

namespace AgentCore.Tests.History;

public sealed class SessionStatsTests
{
    [Test]
    public void New_NothingRecorded_Zero()
    {
        var stats = new SessionStats(new FakeTimeProvider());

        stats.Usage.Should().Be(TokenUsage.Zero);
        stats.Steps.Should().Be(0);
        stats.ContextTokens.Should().BeNull();
        stats.ApiTime.Should().Be(TimeSpan.Zero);
        stats.WallTime.Should().Be(TimeSpan.Zero);
    }

    [Test]
    public void RecordStep_SeveralSteps_AddsEveryBucket()
    {
        var stats = new SessionStats(new FakeTimeProvider());

        stats.RecordStep(new TokenUsage(Input: 100, Output: 20, Reasoning: 5, CacheRead: 1000, CacheWrite: 50), stats.StartApiCall());
        stats.RecordStep(new TokenUsage(Input: 30, Output: 40, Reasoning: 10, CacheRead: 1100, CacheWrite: 0), stats.StartApiCall());
        stats.RecordStep(new TokenUsage(Input: 7, Output: 3, Reasoning: 0, CacheRead: 0, CacheWrite: 200), stats.StartApiCall());

        stats.Usage.Should().Be(new TokenUsage(Input: 137, Output: 63, Reasoning: 15, CacheRead: 2100, CacheWrite: 250));
        stats.Steps.Should().Be(3);
    }

    [Test]
    public void RecordStep_SeveralSteps_ContextTokensIsTheLatestStepsNotTheSum()
    {
        var stats = new SessionStats(new FakeTimeProvider());

        stats.RecordStep(new TokenUsage(Input: 5000, Output: 100, Reasoning: 0, CacheRead: 0, CacheWrite: 0), stats.StartApiCall());
        stats.ContextTokens.Should().Be(5100);
        stats.RecordStep(new TokenUsage(Input: 200, Output: 50, Reasoning: 0, CacheRead: 5100, CacheWrite: 10), stats.StartApiCall());
        stats.ContextTokens.Should().Be(5360);

        // After a compaction the context shrinks: the latest value wins.
        stats.RecordStep(new TokenUsage(Input: 900, Output: 80, Reasoning: 0, CacheRead: 0, CacheWrite: 0), stats.StartApiCall());
        stats.ContextTokens.Should().Be(980);
    }

    [Test]
    public void ApiTimeAndWallTime_FromTheInjectedClock_ApiIsTheSumOfModelCallsOnly()
    {
        var time = new FakeTimeProvider();
        var stats = new SessionStats(time);

        time.Advance(TimeSpan.FromMilliseconds(300));          // loading the session
        long first = stats.StartApiCall();
        time.Advance(TimeSpan.FromSeconds(2));                 // the first model call
        stats.RecordStep(new TokenUsage(10, 1, 0, 0, 0), first);
        time.Advance(TimeSpan.FromSeconds(5));                 // a tool runs
        long second = stats.StartApiCall();
        time.Advance(TimeSpan.FromMilliseconds(1500));         // the second model call
        stats.RecordStep(new TokenUsage(10, 1, 0, 0, 0), second);
        time.Advance(TimeSpan.FromMilliseconds(200));          // saving

        stats.ApiTime.Should().Be(TimeSpan.FromMilliseconds(3500));
        stats.WallTime.Should().Be(TimeSpan.FromMilliseconds(9000));
    }

    [Test]
    public void ToHistoryUsage_Always_MapsToLettaCodesFields()
    {
        var stats = new SessionStats(new FakeTimeProvider());
        stats.RecordStep(new TokenUsage(Input: 100, Output: 20, Reasoning: 5, CacheRead: 1000, CacheWrite: 50), stats.StartApiCall());
        stats.RecordStep(new TokenUsage(Input: 30, Output: 40, Reasoning: 10, CacheRead: 1100, CacheWrite: 0), stats.StartApiCall());

        stats.ToHistoryUsage().Should().Be(new HistoryUsage
        {
            PromptTokens = 130 + 2100 + 50,         // every input token, cached ones included
            CompletionTokens = 60,
            TotalTokens = 130 + 2100 + 50 + 60,
            CachedInputTokens = 2100,
            CacheWriteTokens = 50,
            ReasoningTokens = 15,
            ContextTokens = 30 + 40 + 1100,
            Steps = 2,
        });
    }

    [Test]
    public void ToHistoryUsage_NoStep_NoContextTokens()
    {
        new SessionStats(new FakeTimeProvider()).ToHistoryUsage().ContextTokens.Should().BeNull();
    }

    [Test]
    public void ToHistoryDuration_FractionalMilliseconds_RoundedToWholeMilliseconds()
    {
        var time = new FakeTimeProvider();
        var stats = new SessionStats(time);
        long call = stats.StartApiCall();
        time.Advance(TimeSpan.FromTicks(12_346_000)); // 1234.6 ms
        stats.RecordStep(TokenUsage.Zero, call);
        time.Advance(TimeSpan.FromTicks(1_000));      // 0.1 ms

        stats.ToHistoryDuration().Should().Be(new HistoryDuration { ApiMs = 1235, WallMs = 1235 });
    }
}
