using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Storage.Worker;

/// <summary>
/// Durable tool approval across two real processes (<c>AgentCore.Storage.Worker approval</c>) on one database: one process's
/// turn stops with a call waiting for approval, another answers it — after the first has exited, or while it still runs.
/// A store's test project derives a fixture naming the backend; the tests synchronize only through the workers' lines.
/// </summary>
public abstract class TwoProcessApprovalTests
{
    /// <summary>The worker's backend argument: <c>sqlite</c> or <c>postgres</c>.</summary>
    protected abstract string Backend { get; }

    /// <summary>The database file or connection string both workers use.</summary>
    protected abstract string Target { get; }

    /// <summary>The workers' AgentCore data directory (shared, as the apps' would be).</summary>
    protected abstract string DataDirectory { get; }

    /// <summary>A store on <see cref="Target"/>, for the test to set up and inspect; disposed by the test.</summary>
    protected abstract ISessionStore OpenStore();

    [Test]
    public async Task ChatStreamingAsync_ApprovedByAnotherProcessAfterTheFirstExited_ToolRunsThereAndTurnContinues()
    {
        string sessionId = await CreateSessionAsync();
        await using (var asker = await StartAsync(sessionId))
        {
            await asker.WriteLineAsync("ask a.txt");
            (await asker.ReadLineAsync()).Should().Be("completed awaiting_approval pending call_a.txt", asker.Errors);
            await QuitAsync(asker);
        }

        await using var answerer = await StartAsync(sessionId);
        await answerer.WriteLineAsync("approve go ahead");

        (await answerer.ReadLineAsync()).Should().Be("tool ran a.txt", answerer.Errors);
        (await answerer.ReadLineAsync()).Should().Be("result deleted a.txt", answerer.Errors);
        (await answerer.ReadLineAsync()).Should().Be("completed completed finished", answerer.Errors);
        await QuitAsync(answerer);
        var part = (await MessagesAsync(sessionId)).SelectMany(static m => m.Parts).OfType<ToolPart>().Single();
        (part.State, part.Output, part.Approval?.Approved, part.Approval?.Reason).Should().Be((ToolState.Completed, "deleted a.txt", true, "go ahead"));
    }

    [Test]
    public async Task ChatStreamingAsync_RejectedByAnotherProcessWhileTheFirstRuns_ModelSeesTheReasonAndTheSessionIsFree()
    {
        string sessionId = await CreateSessionAsync();
        await using var asker = await StartAsync(sessionId);
        await using var answerer = await StartAsync(sessionId);
        await asker.WriteLineAsync("ask a.txt");
        (await asker.ReadLineAsync()).Should().Be("completed awaiting_approval pending call_a.txt", asker.Errors);

        await answerer.WriteLineAsync("reject not that one");

        (await answerer.ReadLineAsync()).Should().Be("result Error: not run: the user rejected this call: not that one", answerer.Errors);
        (await answerer.ReadLineAsync()).Should().Be("completed completed finished", answerer.Errors);
        await asker.WriteLineAsync("ask b.txt");
        (await asker.ReadLineAsync()).Should().StartWith("result ", "the prompt carries the earlier, rejected call");
        (await asker.ReadLineAsync()).Should().Be("completed awaiting_approval pending call_b.txt", asker.Errors);
        await QuitAsync(asker, answerer);
    }

    private async Task<string> CreateSessionAsync()
    {
        var store = OpenStore();
        try
        {
            var now = DateTimeOffset.UtcNow;
            var session = new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "approval", CreatedAt = now, UpdatedAt = now };
            await store.SaveSessionAsync(session);
            return session.Id;
        }
        finally
        {
            await DisposeAsync(store);
        }
    }

    private async Task<WorkerProcess> StartAsync(string sessionId)
    {
        var worker = WorkerProcess.Start("approval", Backend, Target, sessionId, DataDirectory);
        (await worker.ReadLineAsync()).Should().Be("ready", worker.Errors);
        return worker;
    }

    private static async Task QuitAsync(params WorkerProcess[] workers)
    {
        foreach (var worker in workers)
        {
            await worker.WriteLineAsync("quit");
            (await worker.WaitForExitAsync()).Should().Be(0, worker.Errors);
        }
    }

    private async Task<IReadOnlyList<SessionMessage>> MessagesAsync(string sessionId)
    {
        var store = OpenStore();
        try
        {
            return await store.GetMessagesAsync(sessionId);
        }
        finally
        {
            await DisposeAsync(store);
        }
    }

    private static async ValueTask DisposeAsync(object resource)
    {
        switch (resource)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }
}
