using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

/// <summary>Budgets, the repeated-call guard, the cap on failing tool calls and the bounded abort, through <see cref="ISessionService"/>.</summary>
[TestFixture(false)]
[TestFixture(true)]
public sealed class GuardRailTests(bool inMemory)
{
    // Guards a test against hanging forever when the engine regresses; never reached when it works.
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private EngineHarness Harness(Action<AgentCoreOptions>? configure = null, Action<IAgentCoreBuilder>? build = null) =>
        new(configure, build, inMemory);

    private static AIFunction Echo => EngineHarness.Tool("echo", input => "echo " + input);

    [Test]
    public async Task ChatStreamingAsync_TurnCostReachesMaxCostPerTurn_StopsBeforeTheNextStepKeepingOutputAndUsage()
    {
        // Model-1 costs $3 per million input tokens: 100 000 tokens are $0.30 a step.
        await using var h = Harness(o => o.MaxCostPerTurn = 0.5m, b => b.AddTool(Echo));
        h.Client.Enqueue(r => r.Text("first").ToolCall("c1", "echo", new { input = "a" }).Usage(100_000, 0))
            .Enqueue(r => r.Text(" second").ToolCall("c2", "echo", new { input = "b" }).Usage(100_000, 0))
            .EnqueueText("never asked");
        var session = await h.Sessions.CreateAsync();

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Error.Should().BeNull("a spent budget ends the turn like MaxSteps, without throwing");
        h.Client.Calls.Should().HaveCount(2);
        var completed = result.Completed;
        completed.ExitReason.Should().Be(ExitReason.BudgetExceeded);
        completed.Message.Error!.Kind.Should().Be(MessageErrorKind.BudgetExceeded);
        completed.Message.Error.Message.Should().Contain("MaxCostPerTurn").And.Contain("0.60").And.Contain("0.5");
        completed.Message.Text.Should().Be("first second");
        completed.Message.Cost.Should().Be(0.6m);
        (await h.Sessions.GetAsync(session.Id)).Cost.Should().Be(0.6m);
        (await h.ReadHistoryAsync()).Last().ExitReason.Should().Be("budget_exceeded");
    }

    [Test]
    public async Task ChatStreamingAsync_SessionAlreadyOverMaxCostPerSession_NoModelCall()
    {
        await using var h = Harness(o => o.MaxCostPerSession = 0.2m);
        h.Client.Enqueue(r => r.Text("pricey").Usage(100_000, 0)).EnqueueText("never asked");
        var session = await h.Sessions.CreateAsync();
        await h.ChatAsync(session.Id, "first");

        var events = await h.ChatAsync(session.Id, "second");

        h.Client.Calls.Should().HaveCount(1);
        events.OfType<TurnCompleted>().Single().ExitReason.Should().Be(ExitReason.BudgetExceeded);
        events.OfType<TurnCompleted>().Single().Message.Error!.Message.Should().Contain("MaxCostPerSession");
    }

    [Test]
    public async Task ChatStreamingAsync_RequestBudgetOverridesOptions_TokensPerTurnApplied()
    {
        await using var h = Harness(o => o.MaxTokensPerTurn = 1_000_000, b => b.AddTool(Echo));
        h.Client.Enqueue(r => r.ToolCall("c1", "echo", new { input = "a" }).Usage(60, 50)).EnqueueText("never asked");
        var session = await h.Sessions.CreateAsync();

        var message = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "go", Budget = new TurnBudget { MaxTokensPerTurn = 100 } });

        h.Client.Calls.Should().HaveCount(1);
        message.Error!.Kind.Should().Be(MessageErrorKind.BudgetExceeded);
        message.Error.Message.Should().Contain("110 tokens").And.Contain("MaxTokensPerTurn");
        message.Tokens.Total.Should().Be(110);
    }

    [Test]
    public async Task ChatStreamingAsync_NegativeRequestBudget_ArgumentException()
    {
        await using var h = Harness();

        var act = () => h.Sessions.ChatStreamingAsync(new ChatRequest { SessionId = "ses_x", Text = "go", Budget = new TurnBudget { MaxCostPerTurn = -1m } });

        act.Should().Throw<ArgumentException>().WithMessage("*MaxCostPerTurn = -1*");
    }

    [Test]
    public async Task ChatStreamingAsync_SameCallThreeTimesInARow_ThirdNotRunAndTurnEndsDoomLoop()
    {
        int runs = 0;
        await using var h = Harness(build: b => b.AddTool(EngineHarness.Tool("echo", input => $"run {++runs}")));
        for (int i = 0; i < 3; i++)
        {
            h.Client.Enqueue(r => r.ToolCall($"c{i}", "echo", new { input = "same" }));
        }

        h.Client.EnqueueText("never asked");
        var session = await h.Sessions.CreateAsync();

        var completed = (await h.ChatAsync(session.Id, "loop")).OfType<TurnCompleted>().Single();

        runs.Should().Be(2);
        completed.ExitReason.Should().Be(ExitReason.DoomLoop);
        completed.Message.Error!.Kind.Should().Be(MessageErrorKind.DoomLoop);
        var third = completed.Message.Parts.OfType<ToolPart>().Last();
        (third.State, third.Error).Should().Be((ToolState.Error, "not run: the model called echo with the same arguments 3 times in a row"));
        h.Client.Calls.Should().HaveCount(3);
    }

    [Test]
    public async Task ChatStreamingAsync_SameToolDifferentArguments_NotALoop()
    {
        await using var h = Harness(build: b => b.AddTool(Echo));
        for (int i = 0; i < 4; i++)
        {
            h.Client.Enqueue(r => r.ToolCall($"c{i}", "echo", new { input = $"n{i}" }));
        }

        h.Client.EnqueueText("done");
        var session = await h.Sessions.CreateAsync();

        var completed = (await h.ChatAsync(session.Id, "go")).OfType<TurnCompleted>().Single();

        completed.ExitReason.Should().Be(ExitReason.Completed);
    }

    [Test]
    public async Task ChatStreamingAsync_RepeatWithDoomLoopRequiresApproval_WaitsForApproval()
    {
        await using var h = Harness(o => o.DoomLoopRequiresApproval = true, b => b.AddTool(Echo));
        for (int i = 0; i < 3; i++)
        {
            h.Client.Enqueue(r => r.ToolCall($"c{i}", "echo", new { input = "same" }));
        }

        h.Client.EnqueueText("done");
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "loop");

        events.OfType<TurnCompleted>().Single().ExitReason.Should().Be(ExitReason.AwaitingApproval);
        events.OfType<ToolApprovalRequested>().Single().Request.RequestId.Should().Be("c2");
        var message = await h.Sessions.ChatAsync(new ChatRequest
        {
            SessionId = session.Id,
            Contents = [(await h.Sessions.GetPendingApprovalsAsync(session.Id)).Single().CreateResponse(true)],
        });
        message.Text.Should().Be("done");
    }

    [Test]
    public async Task ChatStreamingAsync_ThreeToolCallsFailInARow_TurnEndsWithToolErrors()
    {
        var failing = AIFunctionFactory.Create(string (string input) => throw new InvalidOperationException("broken " + input), "fragile");
        await using var h = Harness(build: b => b.AddTool(failing));
        h.Client.Enqueue(r => r.ToolCall("c1", "fragile", new { input = "1" }))
            .Enqueue(r => r.ToolCall("c2", "fragile", new { input = "2" }).ToolCall("c3", "fragile", new { input = "3" }))
            .EnqueueText("never asked");
        var session = await h.Sessions.CreateAsync();

        var completed = (await h.ChatAsync(session.Id, "try")).OfType<TurnCompleted>().Single();

        h.Client.Calls.Should().HaveCount(2);
        completed.ExitReason.Should().Be(ExitReason.Error);
        completed.Message.Error!.Kind.Should().Be(MessageErrorKind.ToolErrors);
        completed.Message.Error.Message.Should().Contain("3 tool calls in a row failed");
    }

    [Test]
    public async Task Abort_ToolIgnoresItsToken_TurnEndsAfterTheGracePeriodAndTheLateResultIsDiscarded()
    {
        var started = EngineHarness.Signal();
        var finish = EngineHarness.Signal();
        var stubborn = AIFunctionFactory.Create(async () =>
        {
            started.TrySetResult();
            await finish.Task;   // ignores the cancellation token on purpose
            return "late result";
        }, "stubborn");
        await using var h = Harness(o => o.AbortGracePeriod = TimeSpan.FromSeconds(5), b => b.AddTool(stubborn));
        h.Client.Enqueue(r => r.ToolCall("c1", "stubborn")).EnqueueText("after");
        var session = await h.Sessions.CreateAsync();
        var turn = h.ChatCapturingAsync(session.Id, "go");
        await started.Task.WaitAsync(HangGuard);
        int timers = h.Time.ArmedTimers;

        h.Sessions.Abort(session.Id).Should().BeTrue();
        await h.Time.WaitForTimersAsync(timers + 1).WaitAsync(HangGuard);
        turn.IsCompleted.Should().BeFalse("the tool gets its grace period");
        h.Time.Advance(TimeSpan.FromSeconds(5));
        var result = await turn.WaitAsync(HangGuard);

        result.Completed.ExitReason.Should().Be(ExitReason.Aborted);
        var part = result.Completed.Message.Parts.OfType<ToolPart>().Single();
        (part.State, part.Error).Should().Be((ToolState.Error, "aborted"));
        var next = await h.ChatCapturingAsync(session.Id, "are you free?");
        next.Error.Should().BeNull("the session is free once the turn ended");
        finish.TrySetResult();
        var stored = (await h.Sessions.GetMessagesAsync(session.Id))[1].Parts.OfType<ToolPart>().Single();
        stored.Output.Should().BeNull("the late result is discarded");
        stored.State.Should().Be(ToolState.Error);
    }

    [Test]
    public async Task AddAgentCore_BadLimits_ValidationNamesEach()
    {
        await using var h = Harness(o =>
        {
            o.MaxCostPerTurn = 0m;
            o.DoomLoopThreshold = 1;
            o.AbortGracePeriod = TimeSpan.FromSeconds(-1);
        });

        var act = () => h.Sessions;

        act.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>()
            .WithMessage("*MaxCostPerTurn must be above 0*").And.Message.Should().Contain("DoomLoopThreshold").And.Contain("AbortGracePeriod");
    }
}
