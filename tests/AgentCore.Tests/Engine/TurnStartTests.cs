using Microsoft.Extensions.AI;

namespace AgentCore.Tests.Engine;

/// <summary>Where a turn runs: inline on the caller's enumeration, or on the thread pool when the caller has a context.</summary>
public sealed class TurnStartTests
{
    [Test]
    public async Task ChatAsync_CallerHasSynchronizationContext_ToolNeverRunsOnIt()
    {
        SynchronizationContext? seenByTool = null;
        // Nothing in this turn waits (in-memory store, no usage-history file, a scripted client): run inline, the whole
        // turn would run on the caller's thread.
        await using var harness = new EngineHarness(inMemory: true, build: b => b.UseSessionHistory<NoHistory>().AddTool(AIFunctionFactory.Create(
            (string input) =>
            {
                seenByTool = SynchronizationContext.Current;
                return input;
            },
            "observing",
            "Notes the context it runs on, then repeats the input.")));
        var session = await harness.Sessions.CreateAsync();
        harness.Client.Enqueue(r => r.ToolCall("call_1", "observing", new { input = "x" })).EnqueueText("done");
        var context = new CallerContext();

        Task<List<SessionEvent>> turn;
        SynchronizationContext.SetSynchronizationContext(context);
        try
        {
            turn = harness.ChatAsync(session.Id, "go");
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(null);
        }

        var events = await turn;

        events.OfType<TurnCompleted>().Single().ExitReason.Should().Be(ExitReason.Completed);
        seenByTool.Should().NotBeSameAs(context, "the turn ran on the thread pool, not on the caller's context");
    }

    [Test]
    public async Task ChatAsync_NoSynchronizationContext_TurnCompletesWithEveryEvent()
    {
        await using var harness = new EngineHarness(inMemory: true, build: b => b.AddTool(EngineHarness.Tool("echo", s => s)));
        var session = await harness.Sessions.CreateAsync();
        harness.Client.Enqueue(r => r.ToolCall("call_1", "echo", new { input = "x" })).EnqueueText("done");

        var events = await harness.ChatAsync(session.Id, "go");

        events.Select(static e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        events[^1].Should().BeOfType<TurnCompleted>().Which.Message.Text.Should().Be("done");
        events.OfType<ToolCallUpdated>().Select(static e => e.Part.State).Should().Equal(ToolState.Pending, ToolState.Running, ToolState.Completed);
    }

    private sealed class CallerContext : SynchronizationContext
    {
    }

    private sealed class NoHistory : ISessionHistory
    {
        public ValueTask RecordStartAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask RecordEndAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public IAsyncEnumerable<SessionHistoryEntry> ReadAsync(CancellationToken cancellationToken = default) => AsyncEnumerable.Empty<SessionHistoryEntry>();
    }
}
