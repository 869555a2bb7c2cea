using System.Net;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

/// <summary>One turn at a time per session; abort and cancellation; the lock released on every path.</summary>
public sealed class BusyAndAbortTests
{
    [Test]
    public async Task ChatStreamingAsync_SessionBusy_SecondTurnThrowsAtOnceAndAnotherSessionRuns()
    {
        await using var h = new EngineHarness();
        var busy = await h.Sessions.CreateAsync();
        var other = await h.Sessions.CreateAsync();
        var parked = EngineHarness.Signal();
        var release = EngineHarness.Signal();
        h.Client.Enqueue(r => r.Text("first ").Then(() => parked.TrySetResult()).WaitFor(release.Task).Text("done"));
        var first = h.ChatAsync(busy.Id, "long job");
        await parked.Task;

        var second = await h.ChatCapturingAsync(busy.Id, "me too");
        h.Client.EnqueueText("other answer");
        var parallel = await h.ChatCapturingAsync(other.Id, "independent");
        var deleteBusy = () => h.Sessions.DeleteAsync(busy.Id);

        second.Error.Should().BeOfType<SessionBusyException>().Which.SessionId.Should().Be(busy.Id);
        second.Events.Should().BeEmpty();
        await deleteBusy.Should().ThrowAsync<SessionBusyException>();
        parallel.Error.Should().BeNull();
        parallel.Completed.Message.Text.Should().Be("other answer");
        first.IsCompleted.Should().BeFalse("the first turn is still parked");
        (await h.Store.GetMessagesAsync(busy.Id)).Where(m => m.Role == ChatRole.User).Should().ContainSingle("the refused turn wrote nothing");

        release.TrySetResult();
        var events = await first;
        events.OfType<TurnCompleted>().Single().Message.Text.Should().Be("first done");
        h.Client.Calls.Should().HaveCount(2);
    }

    [Test]
    public async Task ChatAsync_SessionBusy_ThrowsSessionBusyException()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var parked = EngineHarness.Signal();
        h.Client.Enqueue(r => r.Then(() => parked.TrySetResult()).WaitForCancellation());
        var first = h.ChatCapturingAsync(session.Id, "long job");
        await parked.Task;

        var act = () => h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "again" });

        await act.Should().ThrowAsync<SessionBusyException>();
        h.Sessions.Abort(session.Id).Should().BeTrue();
        (await first).Completed.ExitReason.Value.Should().Be("aborted");
    }

    [Test]
    public async Task Abort_MidStream_KeepsPartialTextClosesMessageAsAbortedAndFreesTheSession()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var parked = EngineHarness.Signal();
        h.Client.Enqueue(r => r.Text("Partial ").Text("answer").Usage(40, 4).Then(() => parked.TrySetResult()).WaitForCancellation().Text("never"));
        var turn = h.ChatCapturingAsync(session.Id, "go");
        await parked.Task;

        h.Sessions.Abort(session.Id).Should().BeTrue();
        var result = await turn;

        result.Error.Should().BeNull("an abort ends the turn quietly");
        result.Events.Last().Should().BeOfType<TurnCompleted>().Which.ExitReason.Value.Should().Be("aborted");
        var message = (await h.Sessions.GetMessagesAsync(session.Id))[1];
        message.Text.Should().Be("Partial answer");
        message.CompletedAt.Should().NotBeNull();
        message.Error.Should().Be(new MessageError(MessageErrorKind.Aborted, message.Error!.Message));
        message.Tokens.Should().Be(new TokenUsage(40, 4, 0, 0, 0), "usage so far is recorded");
        (await h.Sessions.GetAsync(session.Id)).Tokens.Should().Be(new TokenUsage(40, 4, 0, 0, 0));
        h.Sessions.Abort(session.Id).Should().BeFalse("no turn runs any more");

        await ChatAgainWorksAsync(h, session.Id);
    }

    [Test]
    public async Task Abort_MidTool_ToolCancelledAndClosedAsAbortedError()
    {
        var started = EngineHarness.Signal();
        var cancelled = EngineHarness.Signal();
        var tool = AIFunctionFactory.Create(async (CancellationToken ct) =>
        {
            await using var registration = ct.Register(() => cancelled.TrySetResult());
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return "never";
        }, "slow");
        await using var h = new EngineHarness(build: b => b.AddTool(tool));
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("Starting.").ToolCall("call_1", "slow"));
        var turn = h.ChatCapturingAsync(session.Id, "go");
        await started.Task;

        h.Sessions.Abort(session.Id).Should().BeTrue();
        var result = await turn;

        await cancelled.Task;
        result.Error.Should().BeNull();
        result.Completed.ExitReason.Value.Should().Be("aborted");
        var part = result.Completed.Message.Parts.OfType<ToolPart>().Single();
        part.State.Should().Be(ToolState.Error);
        part.Error.Should().Be("aborted");
        part.EndedAt.Should().NotBeNull();
        result.Events.OfType<ToolCallUpdated>().Last().Part.State.Should().Be(ToolState.Error);
        var stored = (await h.Sessions.GetMessagesAsync(session.Id))[1];
        stored.Parts.OfType<ToolPart>().Single().Error.Should().Be("aborted");
        stored.Text.Should().Be("Starting.");
        stored.Error!.Kind.Should().Be(MessageErrorKind.Aborted);
        h.Client.Calls.Should().ContainSingle("no step follows an abort");

        // The next prompt answers the aborted call.
        await ChatAgainWorksAsync(h, session.Id);
        h.Client.Calls[1].Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single().Result.Should().Be("Error: aborted");
    }

    [Test]
    public async Task Abort_StreamFailsWithAnotherExceptionAfterTheAbort_StillAnAbortNotAnError()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        string id = session.Id;
        // Some clients surface a cancelled HTTP stream as an I/O error rather than an OperationCanceledException.
        h.Client.Enqueue(r => r.Text("partial").Then(() =>
        {
            h.Sessions.Abort(id);
            throw new IOException("The response ended prematurely.");
        }));

        var result = await h.ChatCapturingAsync(id, "go");

        result.Error.Should().BeNull();
        result.Completed.ExitReason.Value.Should().Be("aborted");
        result.Completed.Message.Error!.Kind.Should().Be(MessageErrorKind.Aborted);
        result.Completed.Message.Text.Should().Be("partial");
        h.Client.Calls.Should().ContainSingle("an aborted turn is not retried");
    }

    [Test]
    public async Task Abort_ToolFailsWithAnotherExceptionOnCancellation_PartClosedAsAborted()
    {
        var started = EngineHarness.Signal();
        var tool = AIFunctionFactory.Create(async (CancellationToken ct) =>
        {
            started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                throw new ObjectDisposedException("connection");
            }

            return "never";
        }, "remote");
        await using var h = new EngineHarness(build: b => b.AddTool(tool));
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.ToolCall("call_1", "remote"));
        var turn = h.ChatCapturingAsync(session.Id, "go");
        await started.Task;

        h.Sessions.Abort(session.Id);
        var result = await turn;

        result.Completed.ExitReason.Value.Should().Be("aborted");
        result.Completed.Message.Parts.OfType<ToolPart>().Single().Error.Should().Be("aborted");
        h.Client.Calls.Should().ContainSingle();
    }

    [Test]
    public async Task ChatStreamingAsync_CallerCancels_ThrowsOperationCanceledMessageAbortedSessionFree()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var parked = EngineHarness.Signal();
        using var cts = new CancellationTokenSource();
        h.Client.Enqueue(r => r.Text("so far").Then(() => parked.TrySetResult()).WaitForCancellation());
        var turn = h.ChatCapturingAsync(session.Id, "go", cts.Token);
        await parked.Task;

        await cts.CancelAsync();
        var result = await turn;

        result.Error.Should().BeAssignableTo<OperationCanceledException>().Which.CancellationToken.Should().Be(cts.Token);
        result.Events.Last().Should().BeOfType<TurnCompleted>().Which.ExitReason.Value.Should().Be("aborted");
        var message = (await h.Sessions.GetMessagesAsync(session.Id))[1];
        message.Error!.Kind.Should().Be(MessageErrorKind.Aborted);
        message.Text.Should().Be("so far");
        message.CompletedAt.Should().NotBeNull();

        await ChatAgainWorksAsync(h, session.Id);
    }

    [Test]
    public async Task ChatAsync_CallerCancels_ThrowsOperationCanceled()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var parked = EngineHarness.Signal();
        using var cts = new CancellationTokenSource();
        h.Client.Enqueue(r => r.Then(() => parked.TrySetResult()).WaitForCancellation());
        var turn = h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "go" }, cts.Token);
        await parked.Task;

        await cts.CancelAsync();

        await FluentActions.Awaiting(() => turn).Should().ThrowAsync<OperationCanceledException>();
        await ChatAgainWorksAsync(h, session.Id);
    }

    [Test]
    public async Task ChatStreamingAsync_CallerStopsReadingEarly_TurnAbortedAndSessionFree()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("one").WaitForCancellation());

        await foreach (var e in h.Sessions.ChatStreamingAsync(new ChatRequest { SessionId = session.Id, Text = "go" }))
        {
            if (e is TextDelta)
            {
                break;
            }
        }

        var message = (await h.Sessions.GetMessagesAsync(session.Id))[1];
        message.Error!.Kind.Should().Be(MessageErrorKind.Aborted);
        message.CompletedAt.Should().NotBeNull();
        await ChatAgainWorksAsync(h, session.Id);
    }

    [Test]
    public async Task ChatStreamingAsync_AfterSuccess_SessionFree()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.EnqueueText("first");

        await h.ChatAsync(session.Id, "go");

        h.Sessions.Abort(session.Id).Should().BeFalse();
        await ChatAgainWorksAsync(h, session.Id);
    }

    [Test]
    public async Task ChatStreamingAsync_AfterFailure_SessionFree()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Throw(new HttpRequestException("bad request", null, HttpStatusCode.BadRequest)));

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Error.Should().BeOfType<HttpRequestException>();
        await ChatAgainWorksAsync(h, session.Id);
    }

    [Test]
    public async Task ChatStreamingAsync_StoreFailsWhilePreparing_SessionFree()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();

        var result = await EngineHarness.CaptureAsync(h.Sessions.ChatStreamingAsync(new ChatRequest { SessionId = session.Id, Text = "x", Model = "test/unknown" }));

        result.Error.Should().BeOfType<ModelNotFoundException>();
        await ChatAgainWorksAsync(h, session.Id);
    }

    [Test]
    public async Task Abort_InvalidId_ThrowsArgumentException()
    {
        await using var h = new EngineHarness();

        FluentActions.Invoking(() => h.Sessions.Abort("../../x")).Should().Throw<ArgumentException>();
        h.Sessions.Abort("ses_idle").Should().BeFalse();
    }

    [Test]
    public async Task ChatStreamingAsync_CustomLockProvider_UsedForBusyAndAbort()
    {
        await using var h = new EngineHarness(build: b => b.UseSessionLock<HeldElsewhereLock>());
        var session = await h.Sessions.CreateAsync();

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Error.Should().BeOfType<SessionBusyException>("another instance holds the session");
        h.Client.Calls.Should().BeEmpty();
        h.Sessions.Abort(session.Id).Should().BeTrue("the abort request goes to the lock provider");
        HeldElsewhereLock.AbortRequests.Should().Contain(session.Id);
    }

    private sealed class HeldElsewhereLock : ISessionLockProvider
    {
        public static readonly System.Collections.Concurrent.ConcurrentBag<string> AbortRequests = [];

        public ValueTask<ISessionLease?> TryAcquireAsync(string sessionId, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<ISessionLease?>(null);

        public ValueTask<bool> RequestAbortAsync(string sessionId, CancellationToken cancellationToken = default)
        {
            AbortRequests.Add(sessionId);
            return ValueTask.FromResult(true);
        }
    }

    [Test]
    public async Task ChatStreamingAsync_TwoServiceProvidersOnOneDataFolder_BusyAtOnceAndAbortFromTheOtherReachesTheTurn()
    {
        // Two apps (or two instances) on the default file store in one folder: they share its cross-process lock.
        await using var first = new EngineHarness();
        await using var second = new EngineHarness(configure: o => o.DataDirectory = first.DataDirectory);
        var session = await first.Sessions.CreateAsync();
        var parked = EngineHarness.Signal();
        first.Client.Enqueue(r => r.Text("Partial").Then(() => parked.TrySetResult()).WaitForCancellation());
        var turn = first.ChatCapturingAsync(session.Id, "go");
        await parked.Task;

        await FluentActions.Awaiting(() => second.ChatAsync(session.Id, "me too")).Should().ThrowAsync<SessionBusyException>();
        second.Sessions.Abort(session.Id).Should().BeTrue("the other provider's turn holds the lock");
        var result = await turn;

        result.Completed.ExitReason.Value.Should().Be("aborted");
        second.Client.EnqueueText("mine now");
        (await second.ChatCapturingAsync(session.Id, "now?")).Completed.Message.Text.Should().Be("mine now");
        var messages = await second.Sessions.GetMessagesAsync(session.Id);
        messages.Select(static m => m.Text).Should().Equal("go", "Partial", "now?", "mine now");
        messages[1].Error!.Kind.Should().Be(MessageErrorKind.Aborted, "the other provider's recovery never closed a live turn as interrupted");
    }

    private static async Task ChatAgainWorksAsync(EngineHarness h, string sessionId)
    {
        h.Client.EnqueueText("again");
        var result = await h.ChatCapturingAsync(sessionId, "once more");
        result.Error.Should().BeNull();
        result.Completed.ExitReason.Value.Should().Be("completed");
        result.Completed.Message.Text.Should().Be("again");
    }
}
