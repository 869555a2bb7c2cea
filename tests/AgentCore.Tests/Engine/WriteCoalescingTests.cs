using System.Collections.Concurrent;
using System.Text.Json;
using AgentCore.Tests.Fakes;
using Microsoft.Extensions.AI;

namespace AgentCore.Tests.Engine;

/// <summary>
/// A turn gathers its part changes and writes them with one <see cref="ISessionStore.SavePartsAsync"/> call where a
/// documented promise needs a write: a tool call is stored as running before it runs (with everything that changed
/// before it), streamed text about once a second, and the message when it completes.
/// </summary>
public sealed class WriteCoalescingTests
{
    [Test]
    public async Task ChatAsync_TenToolSteps_OneWriteBeforeEachToolAndOneToComplete()
    {
        CountingSessionStore? counting = null;
        var seen = new ConcurrentQueue<string>();
        string? sessionId = null;
        var probe = AIFunctionFactory.Create(async (string input) =>
        {
            // Runs while the turn waits for it: the store must already hold this call as running, and every earlier
            // call completed, with the steps that asked for them.
            var reply = (await counting!.Inner.GetMessagesAsync(sessionId!)).Single(m => m.Role == ChatRole.Assistant);
            var calls = reply.Parts.OfType<ToolPart>().ToList();
            var self = calls.Single(c => c.CallId == input);
            seen.Enqueue($"{input}: {self.State} {self.StartedAt is not null}; earlier completed: {calls.TakeWhile(c => c != self).All(c => c.State == ToolState.Completed)}; " +
                         $"steps started {reply.Parts.OfType<StepStartPart>().Count()}, finished {reply.Parts.OfType<StepFinishPart>().Count()}");
            return "ok " + input;
        }, "probe");
        await using var h = new EngineHarness(build: b => b.AddTool(probe).UseSessionStore(_ => counting = new CountingSessionStore(new InMemorySessionStore())));
        var session = await h.Sessions.CreateAsync();
        sessionId = session.Id;
        for (int i = 1; i <= 10; i++)
        {
            string callId = $"call_{i}";
            h.Client.Enqueue(r => r.ToolCall(callId, "probe", new { input = callId }).Usage(10, 5));
        }

        h.Client.EnqueueText("done", 10, 5);

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Completed.ExitReason.Value.Should().Be("completed");
        seen.Should().Equal(Enumerable.Range(1, 10).Select(i => $"call_{i}: Running True; earlier completed: True; steps started {i}, finished {i}"));
        counting!.SaveMessageCalls.Should().Be(2, "the user's message and the open reply are each written once, whole");
        counting.SavePartsCalls.Should().Be(22, "one write before each of the 10 tools and one with its result, one with the reply's first text, one to complete it");
        counting.SavePartCalls.Should().Be(0);
        var stored = (await h.Store.GetMessagesAsync(session.Id)).Single(m => m.Role == ChatRole.Assistant);
        JsonSerializer.Serialize(stored, AgentCoreJson.Options).Should().Be(JsonSerializer.Serialize(result.Completed.Message, AgentCoreJson.Options));
    }

    [Test]
    public async Task ChatAsync_ParallelToolCalls_EveryCallStoredRunningInOneWriteBeforeAnyRuns()
    {
        CountingSessionStore? counting = null;
        var states = new ConcurrentQueue<string>();
        string? sessionId = null;
        var probe = AIFunctionFactory.Create(async (string input) =>
        {
            var reply = (await counting!.Inner.GetMessagesAsync(sessionId!)).Single(m => m.Role == ChatRole.Assistant);
            states.Enqueue(string.Join(",", reply.Parts.OfType<ToolPart>().Select(p => p.State)));
            return "ok";
        }, "probe");
        await using var h = new EngineHarness(
            configure: o => o.ParallelToolCalls = true,
            build: b => b.AddTool(probe).UseSessionStore(_ => counting = new CountingSessionStore(new InMemorySessionStore())));
        var session = await h.Sessions.CreateAsync();
        sessionId = session.Id;
        h.Client.Enqueue(r => r.ToolCall("a", "probe", new { input = "a" }).ToolCall("b", "probe", new { input = "b" }).ToolCall("c", "probe", new { input = "c" }).Usage(10, 5))
            .EnqueueText("done");

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Completed.ExitReason.Value.Should().Be("completed");
        states.Should().HaveCount(3).And.OnlyContain(s => s == "Running,Running,Running");
        counting!.SavePartsCalls.Should().Be(4, "one write before the three tools, one with their results, one with the reply's first text, one to complete it");
        var stored = (await h.Store.GetMessagesAsync(session.Id)).Single(m => m.Role == ChatRole.Assistant);
        stored.Parts.OfType<ToolPart>().Should().OnlyContain(p => p.State == ToolState.Completed);
    }

    [Test]
    public async Task ChatAsync_TwoCallsInOneStep_EachStoredRunningBeforeItRunsAndResultsBeforeTheNextModelCall()
    {
        var store = new InMemorySessionStore();
        var seen = new ConcurrentQueue<string>();
        string? sessionId = null;
        string States() => string.Join(",", store.GetMessagesAsync(sessionId!).AsTask().GetAwaiter().GetResult()
            .Single(m => m.Role == ChatRole.Assistant).Parts.OfType<ToolPart>().Select(p => $"{p.CallId}={p.State}"));
        var probe = AIFunctionFactory.Create((string input) =>
        {
            seen.Enqueue($"tool {input}: {States()}");
            return "ok " + input;
        }, "probe");
        await using var h = new EngineHarness(build: b => b.AddTool(probe).UseSessionStore(_ => store));
        var session = await h.Sessions.CreateAsync();
        sessionId = session.Id;
        h.Client.Enqueue(r => r.ToolCall("a", "probe", new { input = "a" }).ToolCall("b", "probe", new { input = "b" }).Usage(10, 5))
            .Enqueue(r => r.Then(() => seen.Enqueue($"next model call: {States()}")).Text("done").Usage(10, 5));

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Completed.ExitReason.Value.Should().Be("completed");
        seen.Should().Equal(
            "tool a: a=Running,b=Pending",
            "tool b: a=Completed,b=Running",
            "next model call: a=Completed,b=Completed");
    }

    [Test]
    public async Task ChatAsync_ToolStoreWriteFails_CompletionWritesTheWholeMessage()
    {
        FailingOnce? failing = null;
        await using var h = new EngineHarness(build: b => b.AddTool(EngineHarness.Tool("echo", s => s))
            .UseSessionStore(_ => failing = new FailingOnce(new InMemorySessionStore())));
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.ToolCall("call_1", "echo", new { input = "x" }).Usage(10, 5)).EnqueueText("done");

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Completed.ExitReason.Value.Should().Be("error");
        failing!.Failed.Should().BeTrue();
        var stored = (await h.Store.GetMessagesAsync(session.Id)).Single(m => m.Role == ChatRole.Assistant);
        stored.CompletedAt.Should().NotBeNull();
        stored.Parts.Select(p => p.GetType()).Should().Equal([typeof(StepStartPart), typeof(ToolPart), typeof(StepFinishPart)],
            "the parts of the failed write are in the whole message written at completion");
        stored.Parts.OfType<ToolPart>().Single().State.Should().Be(ToolState.Error, "the call never ran: the write before it failed");
        stored.Tokens.Should().Be(new TokenUsage(10, 5, 0, 0, 0));
    }

    /// <summary>A store whose first <see cref="SavePartsAsync"/> call fails; every other write goes through.</summary>
    private sealed class FailingOnce(ISessionStore inner) : ISessionStore
    {
        private int _failed;

        public bool Failed => Volatile.Read(ref _failed) == 1;

        public ValueTask<SessionInfo?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) => inner.GetSessionAsync(sessionId, cancellationToken);

        public IAsyncEnumerable<SessionInfo> ListSessionsAsync(CancellationToken cancellationToken = default) => inner.ListSessionsAsync(cancellationToken);

        public ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default) => inner.SaveSessionAsync(session, cancellationToken);

        public ValueTask<SessionInfo?> UpdateSessionAsync(string sessionId, Func<SessionInfo, SessionInfo> update, CancellationToken cancellationToken = default) =>
            inner.UpdateSessionAsync(sessionId, update, cancellationToken);

        public ValueTask<bool> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default) => inner.DeleteSessionAsync(sessionId, cancellationToken);

        public ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default) => inner.GetMessagesAsync(sessionId, cancellationToken);

        public ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default) => inner.SaveMessageAsync(message, cancellationToken);

        public ValueTask SavePartsAsync(SessionMessage message, IReadOnlyList<MessagePartChange> changes, CancellationToken cancellationToken = default) =>
            Interlocked.Exchange(ref _failed, 1) == 0
                ? ValueTask.FromException(new IOException("disk full"))
                : inner.SavePartsAsync(message, changes, cancellationToken);
    }
}
