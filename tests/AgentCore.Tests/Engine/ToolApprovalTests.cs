using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

/// <summary>Durable tool approval through <see cref="ISessionService"/>: pausing, answering after a restart, bad answers, policies.</summary>
[TestFixture(false)]
[TestFixture(true)]
public sealed class ToolApprovalTests(bool inMemory)
{
    private int _deletes;
    private int _reads;

    private AIFunction Delete => new ApprovalRequiredAIFunction(AIFunctionFactory.Create((string path) =>
    {
        Interlocked.Increment(ref _deletes);
        return $"deleted {path}";
    }, "delete_file"));

    private AIFunction Read => AIFunctionFactory.Create((string path) =>
    {
        Interlocked.Increment(ref _reads);
        return $"contents of {path}";
    }, "read_file");

    [SetUp]
    public void ResetCounters() => (_deletes, _reads) = (0, 0);

    private EngineHarness Harness(Action<AgentCoreOptions>? configure = null, Action<IAgentCoreBuilder>? build = null, string? dataDirectory = null) =>
        new(o =>
        {
            if (dataDirectory is not null)
            {
                o.DataDirectory = dataDirectory;
            }

            configure?.Invoke(o);
        }, b =>
        {
            b.AddTools([Delete, Read]);
            build?.Invoke(b);
        }, inMemory);

    private static ChatRequest Answer(string sessionId, params AIContent[] contents) => new() { SessionId = sessionId, Contents = contents };

    private static void AskToDeleteAndRead(EngineHarness h) =>
        h.Client.Enqueue(r => r.ToolCall("call_del", "delete_file", new { path = "a.txt" }).ToolCall("call_read", "read_file", new { path = "b.txt" }).Usage(100, 10));

    [Test]
    public async Task ChatStreamingAsync_ApprovalRequiredTool_NotRunStoredAwaitingAndTurnEndsAwaitingApproval()
    {
        await using var h = Harness();
        AskToDeleteAndRead(h);
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "clean up");

        _deletes.Should().Be(0);
        _reads.Should().Be(1, "a call of the same step that needs no approval still runs");
        h.Client.Calls.Should().HaveCount(1, "the model is not called again while a call waits");
        var requested = events.OfType<ToolApprovalRequested>().Single();
        requested.Request.RequestId.Should().Be("call_del");
        requested.Request.ToolCall.Should().BeOfType<FunctionCallContent>().Which.Name.Should().Be("delete_file");
        requested.Part.State.Should().Be(ToolState.AwaitingApproval);
        var completed = events.OfType<TurnCompleted>().Single();
        completed.ExitReason.Should().Be(ExitReason.AwaitingApproval);
        completed.Message.Error.Should().BeNull();
        var stored = (await h.Sessions.GetMessagesAsync(session.Id)).Last().Parts.OfType<ToolPart>().ToList();
        stored.Select(static t => (t.CallId, t.State)).Should().Equal(("call_del", ToolState.AwaitingApproval), ("call_read", ToolState.Completed));
        var history = await h.ReadHistoryAsync();
        history.Last().ExitReason.Should().Be("awaiting_approval");
        (await h.Sessions.GetPendingApprovalsAsync(session.Id)).Select(static r => r.RequestId).Should().Equal("call_del");
    }

    [Test]
    public async Task ChatStreamingAsync_ApprovedAfterRestart_ToolRunsOnceAndModelContinues()
    {
        // The in-memory store does not survive a restart: there the answer comes from the same service.
        var shared = Directory.CreateTempSubdirectory("agentcore-approval-").FullName;
        var first = Harness(dataDirectory: shared);
        EngineHarness? second = null;
        try
        {
            AskToDeleteAndRead(first);
            string sessionId = (await first.Sessions.CreateAsync()).Id;
            await first.ChatAsync(sessionId, "clean up");
            if (!inMemory)
            {
                await first.DisposeAsync();
            }

            second = inMemory ? first : Harness(dataDirectory: shared);
            second.Client.EnqueueText("Deleted a.txt.", input: 200, output: 5);
            var request = (await second.Sessions.GetPendingApprovalsAsync(sessionId)).Single();

            var events = await EngineHarness.CaptureAsync(second.Sessions.ChatStreamingAsync(Answer(sessionId, request.CreateResponse(true, "fine"))));

            events.Error.Should().BeNull();
            _deletes.Should().Be(1);
            events.Completed.ExitReason.Should().Be(ExitReason.Completed);
            events.Completed.Message.Text.Should().Be("Deleted a.txt.");
            var results = second.Client.Calls[^1].Messages.SelectMany(static m => m.Contents).OfType<FunctionResultContent>().ToList();
            results.Select(static r => (r.CallId, r.Result?.ToString())).Should().Equal(("call_del", "deleted a.txt"), ("call_read", "contents of b.txt"));
            var messages = await second.Sessions.GetMessagesAsync(sessionId);
            messages.Select(static m => m.Role).Should().Equal(ChatRole.User, ChatRole.Assistant, ChatRole.Assistant);
            var part = messages[1].Parts.OfType<ToolPart>().First();
            (part.State, part.Output, part.Approval?.Approved, part.Approval?.Reason).Should().Be((ToolState.Completed, "deleted a.txt", true, "fine"));
            (await second.Sessions.GetPendingApprovalsAsync(sessionId)).Should().BeEmpty();
            var session = await second.Sessions.GetAsync(sessionId);
            session.Tokens.Input.Should().Be(300, "both turns count in the totals");
        }
        finally
        {
            await (second ?? first).DisposeAsync();
            Directory.Delete(shared, recursive: true);
        }
    }

    [Test]
    public async Task ChatStreamingAsync_Rejected_ToolNotRunAndModelSeesTheReason()
    {
        await using var h = Harness();
        AskToDeleteAndRead(h);
        h.Client.EnqueueText("Understood, I kept it.");
        var session = await h.Sessions.CreateAsync();
        var requested = (await h.ChatAsync(session.Id, "clean up")).OfType<ToolApprovalRequested>().Single();

        var message = await h.Sessions.ChatAsync(Answer(session.Id, requested.Request.CreateResponse(false, "keep that file")));

        _deletes.Should().Be(0);
        message.Text.Should().Be("Understood, I kept it.");
        var result = h.Client.Calls[1].Messages.SelectMany(static m => m.Contents).OfType<FunctionResultContent>().First(static r => r.CallId == "call_del");
        result.Result.Should().Be("Error: not run: the user rejected this call: keep that file");
        var part = (await h.Sessions.GetMessagesAsync(session.Id))[1].Parts.OfType<ToolPart>().First();
        (part.State, part.Approval?.Approved).Should().Be((ToolState.Error, false));
    }

    [Test]
    public async Task ChatStreamingAsync_PlainMessageWhileWaiting_WaitingCallsRejectedAsMovedOnAndMessageAnswered()
    {
        await using var h = Harness();
        AskToDeleteAndRead(h);
        h.Client.EnqueueText("Sure, something else.");
        var session = await h.Sessions.CreateAsync();
        await h.ChatAsync(session.Id, "clean up");

        var message = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "never mind, do something else" });

        _deletes.Should().Be(0);
        message.Text.Should().Be("Sure, something else.");
        var prompt = h.Client.Calls[1].Messages;
        prompt.SelectMany(static m => m.Contents).OfType<FunctionResultContent>().First(static r => r.CallId == "call_del").Result
            .Should().Be("Error: " + ToolApproval.MovedOn);
        prompt.Last().Text.Should().Be("never mind, do something else");
        (await h.Sessions.GetPendingApprovalsAsync(session.Id)).Should().BeEmpty();
    }

    [Test]
    public async Task ChatStreamingAsync_UnknownCallId_ArgumentExceptionAndNothingChanged()
    {
        await using var h = Harness();
        AskToDeleteAndRead(h);
        var session = await h.Sessions.CreateAsync();
        await h.ChatAsync(session.Id, "clean up");
        var before = await SnapshotAsync(h, session.Id);
        var stranger = new ToolApprovalRequestContent("call_nope", new FunctionCallContent("call_nope", "delete_file"));

        var act = () => h.Sessions.ChatAsync(Answer(session.Id, stranger.CreateResponse(true)));

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("call_nope").And.Contain("call_del");
        (await SnapshotAsync(h, session.Id)).Should().Be(before);
        _deletes.Should().Be(0);
    }

    [Test]
    public async Task ChatStreamingAsync_AlreadyAnswered_ArgumentExceptionAndToolNotRunTwice()
    {
        await using var h = Harness();
        AskToDeleteAndRead(h);
        h.Client.EnqueueText("done");
        h.Client.Enqueue(r => r.ToolCall("call_del2", "delete_file", new { path = "c.txt" }));
        var session = await h.Sessions.CreateAsync();
        var request = (await h.ChatAsync(session.Id, "clean up")).OfType<ToolApprovalRequested>().Single().Request;
        await h.Sessions.ChatAsync(Answer(session.Id, request.CreateResponse(true)));
        await h.ChatAsync(session.Id, "and c.txt");   // something waits again, so the answer below is checked against the calls
        var before = await SnapshotAsync(h, session.Id);

        var act = () => h.Sessions.ChatAsync(Answer(session.Id, request.CreateResponse(true)));

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("call_del").And.Contain("answered already");
        (await SnapshotAsync(h, session.Id)).Should().Be(before);
        _deletes.Should().Be(1);
    }

    [Test]
    public async Task ChatStreamingAsync_AnswerWithNothingWaiting_ArgumentException()
    {
        await using var h = Harness();
        h.Client.EnqueueText("hello");
        var session = await h.Sessions.CreateAsync();
        await h.ChatAsync(session.Id, "hi");
        var request = new ToolApprovalRequestContent("call_x", new FunctionCallContent("call_x", "delete_file"));

        var act = () => h.Sessions.ChatAsync(Answer(session.Id, request.CreateResponse(true)));

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("no tool calls waiting");
        (await h.Sessions.GetMessagesAsync(session.Id)).Should().HaveCount(2);
    }

    [Test]
    public async Task ChatStreamingAsync_OneOfTwoWaitingCallsAnswered_ArgumentExceptionNamingTheOther()
    {
        await using var h = Harness();
        h.Client.Enqueue(r => r.ToolCall("call_1", "delete_file", new { path = "a" }).ToolCall("call_2", "delete_file", new { path = "b" }));
        var session = await h.Sessions.CreateAsync();
        var requests = (await h.ChatAsync(session.Id, "delete both")).OfType<ToolApprovalRequested>().Select(static e => e.Request).ToList();
        requests.Should().HaveCount(2);
        var before = await SnapshotAsync(h, session.Id);

        var act = () => h.Sessions.ChatAsync(Answer(session.Id, requests[0].CreateResponse(true)));

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("unanswered: call_2");
        (await SnapshotAsync(h, session.Id)).Should().Be(before);
        _deletes.Should().Be(0);
    }

    [Test]
    public async Task ChatStreamingAsync_AnswerMixedWithText_ArgumentExceptionAtOnce()
    {
        await using var h = Harness();
        var request = new ToolApprovalRequestContent("call_x", new FunctionCallContent("call_x", "delete_file"));

        var act = () => h.Sessions.ChatStreamingAsync(Answer("ses_any", new TextContent("yes"), request.CreateResponse(true)));

        act.Should().Throw<ArgumentException>().WithMessage("*may hold nothing else*");
    }

    [Test]
    public async Task ChatStreamingAsync_AlwaysAllowedInSession_RunsWithoutAsking()
    {
        await using var h = Harness();
        AskToDeleteAndRead(h);
        h.Client.EnqueueText("done");
        var session = await h.Sessions.CreateAsync();

        var updated = await h.Sessions.AlwaysAllowToolAsync(session.Id, "delete_file");
        var events = await h.ChatAsync(session.Id, "clean up");

        updated.Metadata.Should().ContainKey(SessionServiceApprovalExtensions.AlwaysAllowMetadataKey).WhoseValue.Should().Be("delete_file");
        events.OfType<ToolApprovalRequested>().Should().BeEmpty();
        events.OfType<TurnCompleted>().Single().ExitReason.Should().Be(ExitReason.Completed);
        _deletes.Should().Be(1);
    }

    [Test]
    public async Task ChatStreamingAsync_ToolNamedInOptions_NeedsApproval()
    {
        await using var h = Harness(o => o.ToolsRequiringApproval.Add("read_file"));
        h.Client.Enqueue(r => r.ToolCall("call_read", "read_file", new { path = "b.txt" }));
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "read it");

        events.OfType<TurnCompleted>().Single().ExitReason.Should().Be(ExitReason.AwaitingApproval);
        _reads.Should().Be(0);
    }

    [Test]
    public async Task ChatStreamingAsync_DelegatePolicy_SeesTheCallAndPicksIt()
    {
        ToolApprovalContext? seen = null;
        await using var h = Harness(build: b => b.AddToolApprovalPolicy(context =>
        {
            seen = context;
            return context.Call.Arguments?["path"]?.ToString() == "secret.txt";
        }));
        h.Client.Enqueue(r => r.ToolCall("call_ok", "read_file", new { path = "b.txt" }).ToolCall("call_secret", "read_file", new { path = "secret.txt" }));
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "read them");

        events.OfType<ToolApprovalRequested>().Select(static e => e.Request.RequestId).Should().Equal("call_secret");
        _reads.Should().Be(1);
        seen!.Session.Id.Should().Be(session.Id);
        seen.Tool.Name.Should().Be("read_file");
    }

    [Test]
    public async Task ChatStreamingAsync_ProcessDiedWhileAnApprovedCallRan_CallClosedAsInterruptedAndTheModelSeesIt()
    {
        await using var h = Harness();
        AskToDeleteAndRead(h);
        h.Client.EnqueueText("The delete was interrupted.");
        var session = await h.Sessions.CreateAsync();
        await h.ChatAsync(session.Id, "clean up");
        // What a process that died while running the approved call leaves: the call running, in the completed message.
        var asked = (await h.Store.GetMessagesAsync(session.Id))[1];
        var part = asked.Parts.OfType<ToolPart>().First();
        part.State = ToolState.Running;
        part.Approval = new ToolApprovalDecision { Approved = true, AnsweredAt = h.Time.GetUtcNow() };
        await h.Store.SaveMessageAsync(asked);

        var message = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "what happened?" });

        message.Text.Should().Be("The delete was interrupted.");
        var stored = (await h.Sessions.GetMessagesAsync(session.Id))[1].Parts.OfType<ToolPart>().First();
        (stored.State, stored.Error).Should().Be((ToolState.Error, "interrupted: the process running this tool stopped before it returned"));
        h.Client.Calls[1].Messages.SelectMany(static m => m.Contents).OfType<FunctionResultContent>().First().Result.Should().Be("Error: " + stored.Error);
        _deletes.Should().Be(0);
    }

    [Test]
    public async Task ChatStreamingAsync_PipelineWithFunctionInvocation_CallStillWaitsAndRunsOnceWhenApproved()
    {
        var inner = new AgentCore.Testing.ScriptedChatClient();
        var pipeline = new ChatClientBuilder(inner).UseFunctionInvocation().Build();
        await using var h = Harness(
            o => o.DefaultModel = "pipe/m",
            b => b.AddChatClient("pipe", pipeline, [new ModelInfo("pipe", "m", 200_000, 8_000)]));
        inner.Enqueue(r => r.ToolCall("call_del", "delete_file", new { path = "a.txt" }).Usage(10, 1))
             .Enqueue(r => r.Text("Deleted.").Usage(10, 1));
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "delete a.txt");
        _deletes.Should().Be(0, "neither AgentCore nor the pipeline runs a call that waits for approval");
        events.OfType<TurnCompleted>().Single().ExitReason.Should().Be(ExitReason.AwaitingApproval);
        var request = events.OfType<ToolApprovalRequested>().Single().Request;
        var message = await h.Sessions.ChatAsync(Answer(session.Id, request.CreateResponse(true)));

        _deletes.Should().Be(1);
        message.Text.Should().Be("Deleted.");
        inner.Calls.Should().HaveCount(2);
    }

    [Test]
    public async Task AlwaysAllowToolAsync_InvalidToolName_ArgumentException()
    {
        await using var h = Harness();
        var session = await h.Sessions.CreateAsync();

        var act = () => h.Sessions.AlwaysAllowToolAsync(session.Id, "a,b");

        (await act.Should().ThrowAsync<ArgumentException>()).Which.ParamName.Should().Be("toolName");
    }

    [Test]
    public async Task AddAgentCore_ToolsRequiringApprovalHoldsABadName_ValidationFailsNamingIt()
    {
        await using var h = Harness(o => o.ToolsRequiringApproval.Add("bad name"));

        var act = () => h.Sessions;

        act.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>().WithMessage("*ToolsRequiringApproval*'bad name'*");
    }

    private static async Task<string> SnapshotAsync(EngineHarness h, string sessionId) =>
        string.Join("\n", (await h.Sessions.GetMessagesAsync(sessionId)).Select(static m => JsonSerializer.Serialize(m, AgentCoreJsonContext.Default.SessionMessage)));
}
