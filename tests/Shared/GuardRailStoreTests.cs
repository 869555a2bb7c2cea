using System.Text.Json;
using AgentCore.Testing;
using FluentAssertions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace AgentCore.Tests.Shared;

/// <summary>
/// Every guard rail of the human-in-the-loop work through <see cref="ISessionService"/> on a real store: durable tool
/// approval (answered after a restart, bad answers, policies, a plain message while a call waits), budgets, the
/// repeated-call guard, the cap on failing tool calls, the bounded abort, and exact accounting (the title call in the
/// totals and the history, an aborted step, long-context prices, tool result metadata). A restart is a new service
/// provider on the same data; a store that does not survive one (<see cref="Durable"/> false) keeps its provider.
/// A store's test project derives a fixture that names the store.
/// </summary>
public abstract class GuardRailStoreTests
{
    // Guards a test against hanging forever when the engine regresses; never reached when it works.
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private string _directory = null!;
    private int _deletes;
    private int _reads;

    /// <summary>Puts AgentCore on the store under test (the same database for every provider of one test).</summary>
    protected abstract void UseStore(IAgentCoreBuilder builder);

    /// <summary>Whether the store keeps its data across service providers (false for the in-memory store).</summary>
    protected virtual bool Durable => true;

    /// <summary>A folder for the data directory (usage history), deleted after the test.</summary>
    protected string Directory => _directory;

    [SetUp]
    public void CreateDirectory()
    {
        _directory = System.IO.Directory.CreateTempSubdirectory("agentcore-guardrails-").FullName;
        (_deletes, _reads) = (0, 0);
    }

    [TearDown]
    public virtual void DeleteDirectory() => System.IO.Directory.Delete(_directory, recursive: true);

    private AIFunction DeleteFile => new ApprovalRequiredAIFunction(AIFunctionFactory.Create((string path) =>
    {
        Interlocked.Increment(ref _deletes);
        return $"deleted {path}";
    }, "delete_file"));

    private AIFunction ReadFile => AIFunctionFactory.Create((string path) =>
    {
        Interlocked.Increment(ref _reads);
        return $"contents of {path}";
    }, "read_file");

    [Test]
    public async Task ChatStreamingAsync_ApprovalAskedThenAnsweredAfterARestart_DecisionAndMetadataStored()
    {
        int runs = 0;
        var tool = new ApprovalRequiredAIFunction(AIFunctionFactory.Create(() =>
        {
            runs++;
            return new TextContent("removed") { AdditionalProperties = new AdditionalPropertiesDictionary { ["files"] = 2 } };
        }, "remove"));
        var client = new ScriptedChatClient().Enqueue(r => r.ToolCall("c1", "remove").Usage(10, 1)).Enqueue(r => r.Text("done").Usage(20, 1));
        await using var rig = Rig(client, b => b.AddTool(tool));
        string sessionId = (await rig.Sessions.CreateAsync()).Id;
        (await rig.Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "clean" })).FinishReason.Should().Be("tool_calls");

        await rig.RestartAsync();
        var request = (await rig.Sessions.GetPendingApprovalsAsync(sessionId)).Single();
        var reply = await rig.Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Contents = [request.CreateResponse(true, "ok")] });

        reply.Text.Should().Be("done");
        runs.Should().Be(1);
        var part = (await rig.Sessions.GetMessagesAsync(sessionId))[1].Parts.OfType<ToolPart>().Single();
        (part.State, part.Output, part.Approval?.Approved, part.Approval?.Reason).Should().Be((ToolState.Completed, "removed", true, "ok"));
        part.Metadata!["files"].GetInt32().Should().Be(2);
        (await rig.Sessions.GetPendingApprovalsAsync(sessionId)).Should().BeEmpty();
        (await rig.Sessions.GetAsync(sessionId)).Tokens.Input.Should().Be(30, "both turns count in the totals");
    }

    [Test]
    public async Task ChatStreamingAsync_OneOfTwoCallsNeedsApproval_OtherRunsTurnEndsAwaitingAndARejectionAfterARestartReachesTheModel()
    {
        var client = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("call_del", "delete_file", new { path = "a.txt" }).ToolCall("call_read", "read_file", new { path = "b.txt" }))
            .EnqueueText("Kept it.");
        await using var rig = Rig(client, b => b.AddTools([DeleteFile, ReadFile]));
        string sessionId = (await rig.Sessions.CreateAsync()).Id;

        var events = await rig.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "clean up" });

        (_deletes, _reads).Should().Be((0, 1), "a call of the same step that needs no approval still runs");
        events.OfType<ToolApprovalRequested>().Single().Request.RequestId.Should().Be("call_del");
        events.OfType<TurnCompleted>().Single().ExitReason.Should().Be(ExitReason.AwaitingApproval);
        (await rig.HistoryAsync()).Last().ExitReason.Should().Be("awaiting_approval");
        await rig.RestartAsync();
        var stored = (await rig.Sessions.GetMessagesAsync(sessionId))[1].Parts.OfType<ToolPart>();
        stored.Select(static t => (t.CallId, t.State)).Should().Equal(("call_del", ToolState.AwaitingApproval), ("call_read", ToolState.Completed));
        var request = (await rig.Sessions.GetPendingApprovalsAsync(sessionId)).Single();

        // The lock was released when the turn ended: the answer is not refused as busy.
        var reply = await rig.Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Contents = [request.CreateResponse(false, "keep that file")] });

        reply.Text.Should().Be("Kept it.");
        _deletes.Should().Be(0);
        client.Calls[^1].Messages.SelectMany(static m => m.Contents).OfType<FunctionResultContent>().First(static r => r.CallId == "call_del").Result
            .Should().Be("Error: not run: the user rejected this call: keep that file");
        var part = (await rig.Sessions.GetMessagesAsync(sessionId))[1].Parts.OfType<ToolPart>().First();
        (part.State, part.Approval?.Approved, part.Approval?.Reason).Should().Be((ToolState.Error, false, "keep that file"));
    }

    [Test]
    public async Task ChatStreamingAsync_BadApprovalAnswers_ArgumentExceptionAndNothingChanged()
    {
        var client = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("call_del", "delete_file", new { path = "a.txt" }))
            .EnqueueText("done")
            .Enqueue(r => r.ToolCall("call_del2", "delete_file", new { path = "c.txt" }))
            .EnqueueText("hello");
        await using var rig = Rig(client, b => b.AddTools([DeleteFile, ReadFile]));
        string sessionId = (await rig.Sessions.CreateAsync()).Id;
        var first = (await rig.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "clean up" })).OfType<ToolApprovalRequested>().Single().Request;
        await rig.Sessions.ChatAsync(Answer(sessionId, first.CreateResponse(true)));
        await rig.Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "and c.txt" });   // call_del2 waits now
        string idle = (await rig.Sessions.CreateAsync()).Id;
        await rig.Sessions.ChatAsync(new ChatRequest { SessionId = idle, Text = "hi" });
        await rig.RestartAsync();
        var before = await SnapshotAsync(rig.Sessions, sessionId);
        var stranger = new ToolApprovalRequestContent("call_nope", new FunctionCallContent("call_nope", "delete_file"));

        var unknown = () => rig.Sessions.ChatAsync(Answer(sessionId, stranger.CreateResponse(true)));
        var answered = () => rig.Sessions.ChatAsync(Answer(sessionId, first.CreateResponse(true)));
        var nothingWaiting = () => rig.Sessions.ChatAsync(Answer(idle, stranger.CreateResponse(true)));

        (await unknown.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("call_nope").And.Contain("call_del2");
        (await answered.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("call_del").And.Contain("answered already");
        (await nothingWaiting.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("no tool calls waiting");
        (await SnapshotAsync(rig.Sessions, sessionId)).Should().Be(before);
        (await rig.Sessions.GetMessagesAsync(idle)).Should().HaveCount(2);
        _deletes.Should().Be(1);
        client.Calls.Should().HaveCount(4, "no bad answer reaches the model");
    }

    [Test]
    public async Task ChatStreamingAsync_PlainMessageWhileACallWaits_WaitingCallRejectedAsMovedOnAndMessageAnswered()
    {
        var client = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("call_del", "delete_file", new { path = "a.txt" }))
            .EnqueueText("Sure, something else.");
        await using var rig = Rig(client, b => b.AddTools([DeleteFile, ReadFile]));
        string sessionId = (await rig.Sessions.CreateAsync()).Id;
        await rig.Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "clean up" });
        await rig.RestartAsync();

        var reply = await rig.Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "never mind" });

        reply.Text.Should().Be("Sure, something else.");
        _deletes.Should().Be(0);
        client.Calls[^1].Messages.SelectMany(static m => m.Contents).OfType<FunctionResultContent>().Single().Result
            .Should().Be("Error: not run: the user sent a new message instead of approving this call");
        (await rig.Sessions.GetPendingApprovalsAsync(sessionId)).Should().BeEmpty();
        var part = (await rig.Sessions.GetMessagesAsync(sessionId))[1].Parts.OfType<ToolPart>().Single();
        (part.State, part.Error).Should().Be((ToolState.Error, "not run: the user sent a new message instead of approving this call"));
    }

    [Test]
    public async Task ChatStreamingAsync_ApprovalPolicies_AlwaysAllowRememberedAfterARestartNamedToolAndDelegateAsk()
    {
        var list = AIFunctionFactory.Create((string path) => $"listing of {path}", "list_dir");
        var client = new ScriptedChatClient().Enqueue(r => r
            .ToolCall("call_del", "delete_file", new { path = "a.txt" })
            .ToolCall("call_read", "read_file", new { path = "b.txt" })
            .ToolCall("call_list", "list_dir", new { path = "secret" }));
        await using var rig = Rig(
            client,
            b => b.AddTools([DeleteFile, ReadFile, list]).AddToolApprovalPolicy(c => c.Tool.Name == "list_dir" && c.Call.Arguments?["path"]?.ToString() == "secret"),
            o => o.ToolsRequiringApproval.Add("read_file"));
        string sessionId = (await rig.Sessions.CreateAsync()).Id;
        await rig.Sessions.AlwaysAllowToolAsync(sessionId, "delete_file");
        await rig.RestartAsync();

        var events = await rig.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "tidy" });

        (_deletes, _reads).Should().Be((1, 0));
        events.OfType<ToolApprovalRequested>().Select(static e => e.Request.RequestId).Should().Equal("call_read", "call_list");
        events.OfType<TurnCompleted>().Single().ExitReason.Should().Be(ExitReason.AwaitingApproval);
        (await rig.Sessions.GetAsync(sessionId)).Metadata[SessionServiceApprovalExtensions.AlwaysAllowMetadataKey].Should().Be("delete_file");
    }

    [Test]
    public async Task ChatStreamingAsync_BudgetSpentAndRepeatedCall_StoredWithTheirErrors()
    {
        var echo = AIFunctionFactory.Create((string input) => input, "echo");
        var client = new ScriptedChatClient()
            .Enqueue(r => r.Text("partial").ToolCall("b1", "echo", new { input = "x" }).Usage(1_000_000, 0))   // $1: the budget is spent
            .Enqueue(r => r.ToolCall("d1", "echo", new { input = "y" }))
            .Enqueue(r => r.ToolCall("d2", "echo", new { input = "y" }));
        await using var rig = Rig(client, b => b.AddTool(echo), o => o.DoomLoopThreshold = 2);
        var session = await rig.Sessions.CreateAsync();

        var budget = await rig.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "one", Budget = new TurnBudget { MaxCostPerTurn = 0.5m } });
        var loop = await rig.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "two" });
        await rig.RestartAsync();

        var stored = await rig.Sessions.GetMessagesAsync(session.Id);
        var spent = stored.Single(m => m.Id == budget.Id);
        (spent.Error!.Kind, spent.Text, spent.Cost).Should().Be((MessageErrorKind.BudgetExceeded, "partial", 1m), "partial output and usage are kept");
        stored.Single(m => m.Id == loop.Id).Error!.Kind.Should().Be(MessageErrorKind.DoomLoop);
        stored.Single(m => m.Id == loop.Id).Parts.OfType<ToolPart>().Select(t => t.State).Should().Equal(ToolState.Completed, ToolState.Error);
        (await rig.Sessions.GetAsync(session.Id)).Cost.Should().Be(1m);
        (await rig.HistoryAsync()).Where(static e => e.ExitReason is not null).Select(static e => e.ExitReason).Should().Equal("budget_exceeded", "doom_loop");
    }

    [Test]
    public async Task ChatStreamingAsync_SessionBudgetFromOptionsAndTokenBudgetFromRequest_TurnsEndBudgetExceeded()
    {
        var echo = AIFunctionFactory.Create((string input) => input, "echo");
        var client = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("t1", "echo", new { input = "a" }).Usage(60, 50))
            .Enqueue(r => r.Text("pricey").Usage(300_000, 0))
            .EnqueueText("never asked");
        await using var rig = Rig(client, b => b.AddTool(echo), o => o.MaxCostPerSession = 0.2m);
        var session = await rig.Sessions.CreateAsync();

        var tokens = await rig.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "one", Budget = new TurnBudget { MaxTokensPerTurn = 100 } });
        await rig.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "two" });
        await rig.RestartAsync();
        var events = await rig.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "three" });

        (tokens.Error!.Kind, tokens.Tokens.Total).Should().Be((MessageErrorKind.BudgetExceeded, 110L));
        tokens.Error.Message.Should().Contain("MaxTokensPerTurn");
        client.Calls.Should().HaveCount(2, "the session's spent budget, read back from the store, stops the third turn before its model call");
        var completed = events.OfType<TurnCompleted>().Single();
        completed.ExitReason.Should().Be(ExitReason.BudgetExceeded);
        completed.Message.Error!.Message.Should().Contain("MaxCostPerSession");
    }

    [Test]
    public async Task ChatStreamingAsync_RepeatWithDoomLoopRequiresApproval_WaitsAndRunsWhenApprovedAfterARestart()
    {
        int runs = 0;
        var echo = AIFunctionFactory.Create((string input) => $"run {++runs}", "echo");
        var client = new ScriptedChatClient();
        for (int i = 0; i < 3; i++)
        {
            client.Enqueue(r => r.ToolCall($"c{i}", "echo", new { input = "same" }));
        }

        client.EnqueueText("done");
        await using var rig = Rig(client, b => b.AddTool(echo), o => o.DoomLoopRequiresApproval = true);
        string sessionId = (await rig.Sessions.CreateAsync()).Id;

        var events = await rig.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "loop" });
        await rig.RestartAsync();
        var request = (await rig.Sessions.GetPendingApprovalsAsync(sessionId)).Single();
        var reply = await rig.Sessions.ChatAsync(Answer(sessionId, request.CreateResponse(true)));

        events.OfType<TurnCompleted>().Single().ExitReason.Should().Be(ExitReason.AwaitingApproval);
        request.RequestId.Should().Be("c2");
        reply.Text.Should().Be("done");
        runs.Should().Be(3);
    }

    [Test]
    public async Task ChatStreamingAsync_ThreeToolCallsFailInARow_TurnEndsWithToolErrorsStored()
    {
        var failing = AIFunctionFactory.Create(string (string input) => throw new InvalidOperationException("broken " + input), "fragile");
        var client = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("c1", "fragile", new { input = "1" }))
            .Enqueue(r => r.ToolCall("c2", "fragile", new { input = "2" }).ToolCall("c3", "fragile", new { input = "3" }))
            .EnqueueText("never asked");
        await using var rig = Rig(client, b => b.AddTool(failing));
        string sessionId = (await rig.Sessions.CreateAsync()).Id;

        var completed = (await rig.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "try" })).OfType<TurnCompleted>().Single();
        await rig.RestartAsync();

        client.Calls.Should().HaveCount(2);
        completed.ExitReason.Should().Be(ExitReason.Error);
        var stored = (await rig.Sessions.GetMessagesAsync(sessionId))[1];
        (stored.Error!.Kind, stored.Error.Message).Should().Be((MessageErrorKind.ToolErrors, completed.Message.Error!.Message));
        stored.Error.Message.Should().Contain("3 tool calls in a row failed");
        stored.Parts.OfType<ToolPart>().Select(static t => t.State).Should().Equal(ToolState.Error, ToolState.Error, ToolState.Error);
        (await rig.HistoryAsync()).Last().ExitReason.Should().Be("error");
    }

    [Test]
    public async Task Abort_ToolIgnoresItsToken_TurnEndsAfterTheGracePeriodSessionFreeAndTheLateResultDiscarded()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var returned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stubborn = AIFunctionFactory.Create(async () =>
        {
            started.TrySetResult();
            await finish.Task;   // ignores the cancellation token on purpose
            returned.TrySetResult();
            return "late result";
        }, "stubborn");
        var time = new ObservedTimeProvider();
        var client = new ScriptedChatClient().Enqueue(r => r.ToolCall("c1", "stubborn")).EnqueueText("free");
        await using var rig = Rig(client, b => b.AddTool(stubborn), o => o.AbortGracePeriod = TimeSpan.FromSeconds(5), time);
        string sessionId = (await rig.Sessions.CreateAsync()).Id;
        var turn = rig.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "go" });
        await started.Task.WaitAsync(HangGuard);
        int timers = time.ArmedTimers;

        rig.Sessions.Abort(sessionId).Should().BeTrue();
        await time.WaitForTimersAsync(timers + 1).WaitAsync(HangGuard);
        turn.IsCompleted.Should().BeFalse("the tool gets its grace period");
        time.Advance(TimeSpan.FromSeconds(5));
        var events = await turn.WaitAsync(HangGuard);

        var completed = events.OfType<TurnCompleted>().Single();
        completed.ExitReason.Should().Be(ExitReason.Aborted);
        completed.Message.Parts.OfType<ToolPart>().Single().Should().Match<ToolPart>(p => p.State == ToolState.Error && p.Error == "aborted");
        (await rig.Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "are you free?" })).Text
            .Should().Be("free", "the session is free once the turn ended, though the tool still runs");
        finish.TrySetResult();
        await returned.Task.WaitAsync(HangGuard);
        await rig.RestartAsync();
        var stored = (await rig.Sessions.GetMessagesAsync(sessionId))[1].Parts.OfType<ToolPart>().Single();
        (stored.State, stored.Output, stored.Error).Should().Be((ToolState.Error, (string?)null, "aborted"), "the late result is discarded");
    }

    [Test]
    public async Task Abort_MidStep_StepFinishReasonAbortedStored()
    {
        var parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = new ScriptedChatClient().Enqueue(r => r.Text("partial").Usage(10, 1).Then(() => parked.TrySetResult()).WaitForCancellation());
        await using var rig = Rig(client);
        string sessionId = (await rig.Sessions.CreateAsync()).Id;
        var turn = rig.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "go" });
        await parked.Task.WaitAsync(HangGuard);

        rig.Sessions.Abort(sessionId).Should().BeTrue();
        var events = await turn.WaitAsync(HangGuard);
        await rig.RestartAsync();

        events.OfType<TurnCompleted>().Single().ExitReason.Should().Be(ExitReason.Aborted);
        var stored = (await rig.Sessions.GetMessagesAsync(sessionId))[1];
        (stored.FinishReason, stored.Text, stored.Tokens.Input).Should().Be(("aborted", "partial", 10L));
        stored.Parts.OfType<StepFinishPart>().Single().FinishReason.Should().Be("aborted");
    }

    [Test]
    public async Task ChatStreamingAsync_TitleCall_UsageInTotalsAndHistoryAndKeptByLaterRecounts()
    {
        // The title model costs $2 in and $10 out per million: 1 000 in and 100 out are $0.003; the reply $1 + $0.1.
        var titles = new ScriptedChatClient().Enqueue(r => r.Text("A title").Usage(1_000, 100));
        var client = new ScriptedChatClient().EnqueueText("Reply.", input: 1_000_000, output: 100_000).EnqueueText("Again.", input: 10, output: 1);
        await using var rig = TitledRig(client, titles);
        string sessionId = (await rig.Sessions.CreateAsync()).Id;
        var titled = rig.WaitForAsync(sessionId, static e => e is SessionUpdated { Session.Title: "A title" });

        await rig.Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "hello" });
        await titled.WaitAsync(HangGuard);
        await rig.RestartAsync();

        var session = await rig.Sessions.GetAsync(sessionId);
        (session.Title, session.Cost, session.Tokens.Input, session.Tokens.Output).Should().Be(("A title", 1.103m, 1_001_000L, 100_100L));
        var titleEntry = (await rig.HistoryAsync()).Where(static e => e.ExitReason is not null).Single(static e => e.Model == "namer");
        (titleEntry.Usage.PromptTokens, titleEntry.Usage.CompletionTokens, titleEntry.Cost.UsdByok).Should().Be((1_000L, 100L, 0.003m));

        // A recount from the messages (a revert to the first message counts again from scratch) keeps the title's usage,
        // and so do the unrevert and the next turn's reconciliation.
        var user = (await rig.Sessions.GetMessagesAsync(sessionId))[0];
        var reverted = await rig.Sessions.RevertAsync(sessionId, user.Id);
        var unreverted = await rig.Sessions.UnrevertAsync(sessionId);
        await rig.Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "again" });
        await rig.RestartAsync();

        (reverted.Cost, reverted.Tokens.Input).Should().Be((0.003m, 1_000L));
        (unreverted.Cost, unreverted.Tokens.Input).Should().Be((1.103m, 1_001_000L));
        var final = await rig.Sessions.GetAsync(sessionId);
        (final.Cost, final.Tokens.Input, final.Tokens.Output).Should().Be((1.103011m, 1_001_010L, 100_101L));
    }

    [Test]
    public async Task ChatStreamingAsync_TitleAddedToASessionWithoutCheckpoint_FullRecountKeepsTheTitleUsage()
    {
        // A session written without a totals checkpoint (by an earlier version, or cleared by a history provider that
        // added tokens) is recounted from scratch at its next reconciliation: the title's usage must survive that.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var titles = new ScriptedChatClient().Enqueue(r => r.Then(() => asked.TrySetResult()).WaitFor(release.Task).Text("A title").Usage(1_000, 100));
        var client = new ScriptedChatClient().EnqueueText("Reply.", input: 1_000_000, output: 100_000).EnqueueText("Again.", input: 10, output: 1);
        await using var rig = TitledRig(client, titles);
        string sessionId = (await rig.Sessions.CreateAsync()).Id;
        var titled = rig.WaitForAsync(sessionId, static e => e is SessionUpdated { Session.Title: "A title" });
        await rig.Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "hello" });
        await asked.Task.WaitAsync(HangGuard);
        var store = rig.Provider.GetRequiredService<ISessionStore>();
        var stored = await store.GetSessionAsync(sessionId);
        await store.SaveSessionAsync(stored! with { TotalsCheckpoint = null });

        release.TrySetResult();
        await titled.WaitAsync(HangGuard);
        await rig.Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "again" });
        await rig.RestartAsync();

        var final = await rig.Sessions.GetAsync(sessionId);
        (final.Cost, final.Tokens.Input, final.Tokens.Output).Should().Be((1.103011m, 1_001_010L, 100_101L));
    }

    [Test]
    public async Task ChatStreamingAsync_PromptAboveTheLongContextThreshold_StoredCostAtTheLongTier()
    {
        var pricing = new ModelPricing(3m, 15m) { LongContextThreshold = 200_000, LongContext = new ModelPricing(6m, 22.5m) };
        var client = new ScriptedChatClient().EnqueueText("short", input: 200_000, output: 1).EnqueueText("long", input: 200_001, output: 1);
        await using var rig = Rig(client, b => b.AddChatClient("tiered", client, [new ModelInfo("tiered", "m", 1_000_000, 1_000, pricing)]), o => o.DefaultModel = "tiered/m");
        string sessionId = (await rig.Sessions.CreateAsync()).Id;

        await rig.Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "one" });
        await rig.Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "two" });
        await rig.RestartAsync();

        var messages = await rig.Sessions.GetMessagesAsync(sessionId);
        messages.Where(static m => m.Role == ChatRole.Assistant).Select(static m => m.Cost).Should().Equal(0.600015m, 1.2000285m);
        (await rig.Sessions.GetAsync(sessionId)).Cost.Should().Be(1.8000435m);
    }

    private static ChatRequest Answer(string sessionId, params AIContent[] contents) => new() { SessionId = sessionId, Contents = contents };

    private static async Task<string> SnapshotAsync(ISessionService sessions, string sessionId) =>
        string.Join("\n", (await sessions.GetMessagesAsync(sessionId)).Select(static m => JsonSerializer.Serialize(m)));

    /// <summary>A rig that generates titles with <paramref name="titles"/>, a model that costs $2 in and $10 out per million.</summary>
    private StoreRig TitledRig(ScriptedChatClient client, ScriptedChatClient titles) => Rig(
        client,
        b => b.AddChatClient("titles", titles, [new ModelInfo("titles", "namer", 8_000, 1_000, new ModelPricing(2m, 10m))]),
        o => { o.GenerateTitles = true; o.TitleModel = "titles/namer"; });

    private StoreRig Rig(ScriptedChatClient client, Action<IAgentCoreBuilder>? build = null, Action<AgentCoreOptions>? configure = null, TimeProvider? time = null) =>
        new(() =>
        {
            var services = new ServiceCollection();
            var builder = services.AddAgentCore(o =>
            {
                o.DataDirectory = _directory;
                o.DefaultModel = "test/model";
                o.GenerateTitles = false;
                o.IncludeEnvironment = false;
                o.IncludeContextFiles = false;
                configure?.Invoke(o);
            });
            builder.AddChatClient("test", client, [new ModelInfo("test", "model", 2_000_000, 1_000, new ModelPricing(1m, 1m))]);
            build?.Invoke(builder);
            UseStore(builder);
            if (time is not null)
            {
                services.AddSingleton(time);
            }

            return services.BuildServiceProvider();
        }, Durable);

    /// <summary>A service provider on the store under test that a test can restart (a new provider on the same data).</summary>
    private sealed class StoreRig(Func<ServiceProvider> build, bool durable) : IAsyncDisposable
    {
        public ServiceProvider Provider { get; private set; } = build();

        public ISessionService Sessions => Provider.GetRequiredService<ISessionService>();

        /// <summary>Disposes the provider and builds a new one on the same data; keeps the provider when the store would not survive.</summary>
        public async Task RestartAsync()
        {
            if (durable)
            {
                await Provider.DisposeAsync();
                Provider = build();
            }
        }

        public async Task<List<SessionEvent>> ChatAsync(ChatRequest request)
        {
            var events = new List<SessionEvent>();
            await foreach (var e in Sessions.ChatStreamingAsync(request))
            {
                events.Add(e);
            }

            return events;
        }

        public async Task<List<SessionHistoryEntry>> HistoryAsync()
        {
            var entries = new List<SessionHistoryEntry>();
            await foreach (var entry in Provider.GetRequiredService<ISessionHistory>().ReadAsync())
            {
                entries.Add(entry);
            }

            return entries;
        }

        /// <summary>Subscribes now (the subscription starts at the call) and completes when a session event matches.</summary>
        public Task WaitForAsync(string sessionId, Func<SessionEvent, bool> match) =>
            FirstAsync(Provider.GetRequiredService<ISessionEvents>().SubscribeAsync(sessionId), match);

        private static async Task FirstAsync(IAsyncEnumerable<SessionEvent> events, Func<SessionEvent, bool> match)
        {
            await foreach (var e in events)
            {
                if (match(e))
                {
                    return;
                }
            }
        }

        public async ValueTask DisposeAsync() => await Provider.DisposeAsync();
    }
}
