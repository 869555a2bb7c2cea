using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Storage.Worker;

/// <summary>
/// Durable tool approval across two real processes (<c>AgentCore.Storage.Worker approval</c>) on one store: one process's
/// turn stops with a call waiting for approval, another answers it — after the first has exited, or while it still runs.
/// </summary>
public abstract partial class TwoProcessTests
{
    [Test]
    public async Task ChatStreamingAsync_ApprovedByAnotherProcessAfterTheFirstExited_ToolRunsThereAndTurnContinues()
    {
        string sessionId = await CreateSessionAsync();
        await using (var asker = await StartAsync("approval", sessionId))
        {
            await asker.WriteLineAsync("ask a.txt");
            (await asker.ReadLineAsync()).Should().Be("completed awaiting_approval pending call_a.txt", asker.Errors);
            await QuitAsync(asker);
        }

        await using var answerer = await StartAsync("approval", sessionId);
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
        await using var asker = await StartAsync("approval", sessionId);
        await using var answerer = await StartAsync("approval", sessionId);
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
}
