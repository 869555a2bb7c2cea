using AgentCore.Tests.Shared;
using System.Net;
using System.Text.Json;
using AgentCore.Tests.Fakes;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

/// <summary>Every turn writes a start and an end entry to the usage history.</summary>
public sealed class HistoryTests
{
    [Test]
    public async Task ChatStreamingAsync_CompletedTurn_StartAndEndEntriesWithUsageTimesCostAndCounts()
    {
        var clock = new ObservedTimeProvider();
        var slowTool = AIFunctionFactory.Create((string input) =>
        {
            clock.Advance(TimeSpan.FromMilliseconds(500));
            return input;
        }, "slow");
        await using var h = new EngineHarness(o => { o.AgentId = "agent-7"; o.Project = "demo-project"; }, b => b.AddTool(slowTool), time: clock);
        var session = await h.Sessions.CreateAsync();
        var started = clock.GetUtcNow();
        h.Client
            .Enqueue(r => r.Then(() => clock.Advance(TimeSpan.FromSeconds(2))).ToolCall("call_1", "slow", new { input = "x" })
                .Usage(input: 1_000, output: 100, cachedInput: 400, cacheWrite: 100))
            .Enqueue(r => r.Then(() => clock.Advance(TimeSpan.FromSeconds(1))).Text("done").Usage(input: 2_000, output: 50, cachedInput: 1_500));

        await h.ChatAsync(session.Id, "go");

        var entries = await h.ReadHistoryAsync();
        entries.Should().HaveCount(2);
        var start = entries[0];
        start.SessionId.Should().Be(session.Id);
        start.AgentId.Should().Be("agent-7");
        start.Project.Should().Be("demo-project");
        (start.Provider, start.Model).Should().Be(("test", "model-1"));
        start.Timestamp.Should().Be(started.ToUnixTimeMilliseconds());
        start.ExitReason.Should().BeNull();
        start.MessageCount.Should().BeNull();
        start.ToolCallCount.Should().BeNull();

        var end = entries[1];
        end.SessionId.Should().Be(session.Id);
        end.ExitReason.Should().Be("completed");
        end.Timestamp.Should().Be(started.AddSeconds(3.5).ToUnixTimeMilliseconds());
        end.Usage.Should().Be(new HistoryUsage
        {
            PromptTokens = 3_000,
            CompletionTokens = 150,
            TotalTokens = 3_150,
            CachedInputTokens = 1_900,
            CacheWriteTokens = 100,
            ReasoningTokens = 0,
            ContextTokens = 2_050,
            Steps = 2,
        });
        end.Duration.Should().Be(new HistoryDuration { ApiMs = 3_000, WallMs = 3_500 });
        // Step 1: 500 × $3 + 100 × $15 + 400 × $0.30 + 100 × $3.75; step 2: 500 × $3 + 50 × $15 + 1 500 × $0.30.
        end.Cost.Should().Be(new HistoryCost { Type = "byok", UsdByok = 0.006195m });
        end.MessageCount.Should().Be(2);
        end.ToolCallCount.Should().Be(1);

        string lastLine = File.ReadLines(Path.Combine(h.DataDirectory, JsonlSessionHistory.FileName)).Last();
        using var json = JsonDocument.Parse(lastLine);
        json.RootElement.GetProperty("cost").GetRawText().Should().Be("{\"type\":\"byok\",\"usd_byok\":0.006195}");
        json.RootElement.GetProperty("exit_reason").GetString().Should().Be("completed");
        json.RootElement.GetProperty("duration").GetProperty("wall_ms").GetDouble().Should().Be(3_500);
    }

    [Test]
    public async Task ChatStreamingAsync_SecondTurn_MessageCountCountsTheSession()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.EnqueueText("one").EnqueueText("two");

        await h.ChatAsync(session.Id, "a");
        await h.ChatAsync(session.Id, "b");

        (await h.ReadHistoryAsync()).Where(e => e.ExitReason is not null).Select(e => e.MessageCount).Should().Equal(2, 4);
    }

    [Test]
    public async Task ChatStreamingAsync_EachWayATurnEnds_RecordsItsExitReason()
    {
        await using var h = new EngineHarness(o => o.MaxSteps = 2, b => b.AddTool(EngineHarness.Tool("t", s => s)));
        var session = await h.Sessions.CreateAsync();
        var parked = EngineHarness.Signal();
        h.Client
            .EnqueueText("fine")
            .Enqueue(r => r.Throw(new HttpRequestException("no", null, HttpStatusCode.BadRequest)))
            .Enqueue(r => r.ToolCall("c1", "t", new { input = "1" }))
            .Enqueue(r => r.ToolCall("c2", "t", new { input = "2" }))
            .Enqueue(r => r.Text("par").Then(() => parked.TrySetResult()).WaitForCancellation());

        await h.ChatCapturingAsync(session.Id, "completed");
        await h.ChatCapturingAsync(session.Id, "error");
        await h.ChatCapturingAsync(session.Id, "max steps");
        var aborted = h.ChatCapturingAsync(session.Id, "aborted");
        await parked.Task;
        h.Sessions.Abort(session.Id);
        await aborted;

        var entries = await h.ReadHistoryAsync();
        entries.Should().HaveCount(8);
        entries.Select(e => e.ExitReason).Should().Equal(null, "completed", null, "error", null, "max_steps", null, "aborted");
        entries.Where(e => e.ExitReason == "max_steps").Single().ToolCallCount.Should().Be(1);
        entries.Should().OnlyContain(e => e.Cost.Type == "byok");
    }

    [Test]
    public async Task ChatStreamingAsync_HistoryFails_TurnStillCompletes()
    {
        await using var h = new EngineHarness(build: b => b.UseSessionHistory<FailingHistory>());
        var session = await h.Sessions.CreateAsync();
        h.Client.EnqueueText("fine");

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Error.Should().BeNull();
        result.Completed.ExitReason.Value.Should().Be("completed");
    }

    private sealed class FailingHistory : ISessionHistory
    {
        public ValueTask RecordStartAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default) =>
            throw new IOException("disk full");

        public ValueTask RecordEndAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default) =>
            throw new IOException("disk full");

        public IAsyncEnumerable<SessionHistoryEntry> ReadAsync(CancellationToken cancellationToken = default) =>
            AsyncEnumerable.Empty<SessionHistoryEntry>();
    }
}
