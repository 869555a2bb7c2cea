using System.Collections.Concurrent;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

/// <summary>Running the tools the model asks for: order, concurrency, failures, limits.</summary>
public sealed class ToolCallTests
{
    // Guards a test against hanging forever when the engine regresses; never reached when it works.
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Test]
    public async Task ChatStreamingAsync_ParallelToolCalls_ToolsRunConcurrently()
    {
        var aStarted = EngineHarness.Signal();
        var bStarted = EngineHarness.Signal();
        var a = AIFunctionFactory.Create(async () =>
        {
            aStarted.TrySetResult();
            await bStarted.Task.WaitAsync(HangGuard);
            return "a done";
        }, "tool_a");
        var b = AIFunctionFactory.Create(async () =>
        {
            bStarted.TrySetResult();
            await aStarted.Task.WaitAsync(HangGuard);
            return "b done";
        }, "tool_b");
        await using var h = new EngineHarness(o => o.ParallelToolCalls = true, b2 => b2.AddTools([a, b]));
        h.Client.Enqueue(r => r.ToolCall("call_a", "tool_a").ToolCall("call_b", "tool_b")).EnqueueText("both done");
        var session = await h.Sessions.CreateAsync();

        var message = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "run both" });

        message.Parts.OfType<ToolPart>().Select(t => (t.CallId, t.State, t.Output))
            .Should().Equal(("call_a", ToolState.Completed, "a done"), ("call_b", ToolState.Completed, "b done"));
        h.Client.Calls[1].Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Select(r => r.CallId)
            .Should().Equal("call_a", "call_b");
    }

    [Test]
    public async Task ChatStreamingAsync_DefaultSerial_EachToolEndsBeforeTheNextStarts()
    {
        var log = new ConcurrentQueue<string>();
        AIFunction Logged(string name) => AIFunctionFactory.Create(async () =>
        {
            log.Enqueue(name + " start");
            await Task.Yield();
            log.Enqueue(name + " end");
            return name;
        }, name);
        await using var h = new EngineHarness(build: b => b.AddTools([Logged("first"), Logged("second"), Logged("third")]));
        h.Client.Enqueue(r => r.ToolCall("c1", "second").ToolCall("c2", "first").ToolCall("c3", "third")).EnqueueText("ok");
        var session = await h.Sessions.CreateAsync();

        await h.ChatAsync(session.Id, "go");

        log.Should().Equal("second start", "second end", "first start", "first end", "third start", "third end");
    }

    [Test]
    public async Task ChatStreamingAsync_ToolThrows_ErrorStateModelSeesItAndTurnCompletes()
    {
        var failing = AIFunctionFactory.Create(string () => throw new InvalidOperationException("disk on fire"), "fragile");
        await using var h = new EngineHarness(build: b => b.AddTool(failing));
        h.Client.Enqueue(r => r.ToolCall("call_1", "fragile")).EnqueueText("Sorry, the tool failed.");
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "try it");

        var completed = events.OfType<TurnCompleted>().Single();
        completed.ExitReason.Value.Should().Be("completed");
        completed.Message.Error.Should().BeNull();
        var part = completed.Message.Parts.OfType<ToolPart>().Single();
        part.State.Should().Be(ToolState.Error);
        part.Error.Should().Contain("disk on fire").And.Contain(nameof(InvalidOperationException));
        part.Output.Should().BeNull();
        part.EndedAt.Should().NotBeNull();
        Result(h, 1, "call_1").Should().Be("Error: " + part.Error);
        completed.Message.Text.Should().Be("Sorry, the tool failed.");
    }

    [Test]
    public async Task ChatStreamingAsync_ToolThrowsToolException_ModelSeesTheMessageAsIs()
    {
        var failing = AIFunctionFactory.Create(string () => throw new ToolException("File not found: a.txt"), "read");
        await using var h = new EngineHarness(build: b => b.AddTool(failing));
        h.Client.Enqueue(r => r.ToolCall("call_1", "read")).EnqueueText("ok");
        var session = await h.Sessions.CreateAsync();

        await h.ChatAsync(session.Id, "read it");

        Result(h, 1, "call_1").Should().Be("Error: File not found: a.txt");
    }

    [Test]
    public async Task ChatStreamingAsync_UnknownTool_ErrorListsAvailableToolsAndTurnCompletes()
    {
        await using var h = new EngineHarness(build: b => b.AddTool(EngineHarness.Tool("upper", s => s.ToUpperInvariant())));
        h.Client.Enqueue(r => r.ToolCall("call_1", "delete_everything", new { input = "x" })).EnqueueText("I cannot do that.");
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "go");

        events.OfType<TurnCompleted>().Single().ExitReason.Value.Should().Be("completed");
        var part = events.OfType<TurnCompleted>().Single().Message.Parts.OfType<ToolPart>().Single();
        part.State.Should().Be(ToolState.Error);
        part.ToolName.Should().Be("delete_everything");
        part.Error.Should().Contain("Unknown tool 'delete_everything'").And.Contain("upper");
        Result(h, 1, "call_1").Should().StartWith("Error: Unknown tool 'delete_everything'");
    }

    [Test]
    public async Task ChatStreamingAsync_MalformedArguments_ErrorKeepsRawTextToolNotRunAndTurnCompletes()
    {
        int runs = 0;
        await using var h = new EngineHarness(build: b => b.AddTool(EngineHarness.Tool("upper", s =>
        {
            Interlocked.Increment(ref runs);
            return s;
        })));
        h.Client.Enqueue(r => r.MalformedToolCall("call_1", "upper", "{\"input\": \"abc")).EnqueueText("Let me retry properly.");
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "go");

        runs.Should().Be(0);
        var completed = events.OfType<TurnCompleted>().Single();
        completed.ExitReason.Value.Should().Be("completed");
        var part = completed.Message.Parts.OfType<ToolPart>().Single();
        part.State.Should().Be(ToolState.Error);
        part.Arguments.Should().BeNull();
        part.RawArguments.Should().Be("{\"input\": \"abc");
        part.Error.Should().Contain("could not be read");
        Result(h, 1, "call_1").Should().StartWith("Error: ").And.Contain("could not be read");
    }

    [Test]
    public async Task ChatStreamingAsync_ToolArgumentOfWrongType_ErrorResultNotACrash()
    {
        await using var h = new EngineHarness(build: b => b.AddTool(AIFunctionFactory.Create((int count) => count * 2, "double_it")));
        h.Client.Enqueue(r => r.ToolCall("call_1", "double_it", new { count = "not a number" })).EnqueueText("ok");
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "go");

        events.OfType<TurnCompleted>().Single().ExitReason.Value.Should().Be("completed");
        events.OfType<TurnCompleted>().Single().Message.Parts.OfType<ToolPart>().Single().State.Should().Be(ToolState.Error);
    }

    [Test]
    public async Task ChatStreamingAsync_OutputBeyondMaxToolOutputBytes_CutWithVisibleMarker()
    {
        string big = new('x', 5000);
        await using var h = new EngineHarness(o => o.MaxToolOutputBytes = 1024, b => b.AddTool(EngineHarness.Tool("dump", _ => big)));
        h.Client.Enqueue(r => r.ToolCall("call_1", "dump", new { input = "" })).EnqueueText("ok");
        var session = await h.Sessions.CreateAsync();

        var message = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "go" });

        var output = message.Parts.OfType<ToolPart>().Single().Output!;
        output.Should().StartWith(new string('x', 1024));
        output.Should().NotContain(new string('x', 1025));
        output.Should().Contain("[Output truncated: showing the first 1,024 of 5,000 bytes.]");
        Result(h, 1, "call_1").Should().Be(output);
    }

    [Test]
    public async Task ChatStreamingAsync_ToolReturnsObject_SerializedAsJson()
    {
        await using var h = new EngineHarness(build: b => b.AddTool(AIFunctionFactory.Create(() => new { City = "Oslo", Temp = 3 }, "weather")));
        h.Client.Enqueue(r => r.ToolCall("call_1", "weather")).EnqueueText("ok");
        var session = await h.Sessions.CreateAsync();

        var message = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "go" });

        var output = message.Parts.OfType<ToolPart>().Single().Output!;
        using var json = System.Text.Json.JsonDocument.Parse(output);
        json.RootElement.GetProperty("temp").GetInt32().Should().Be(3);
    }

    [Test]
    public async Task ChatStreamingAsync_MaxStepsReached_ToolsWithheldOnTheLastStepAndExitMaxSteps()
    {
        int runs = 0;
        await using var h = new EngineHarness(o => o.MaxSteps = 2, b => b.AddTool(EngineHarness.Tool("again", _ =>
        {
            Interlocked.Increment(ref runs);
            return "more";
        })));
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.ToolCall("call_1", "again", new { input = "" }))
            .Enqueue(r => r.ToolCall("call_2", "again", new { input = "" }));

        var result = await h.ChatCapturingAsync(session.Id, "loop forever");

        result.Error.Should().BeNull("reaching the step limit is not a failure to throw");
        h.Client.Calls.Should().HaveCount(2);
        h.Client.Calls[0].Options!.Tools.Should().ContainSingle();
        (h.Client.Calls[1].Options?.Tools ?? []).Should().BeEmpty("the last step must answer in text");
        runs.Should().Be(1);
        result.Completed.ExitReason.Value.Should().Be("max_steps");
        var message = result.Completed.Message;
        message.Error!.Kind.Should().Be(MessageErrorKind.MaxSteps);
        message.CompletedAt.Should().NotBeNull();
        var parts = message.Parts.OfType<ToolPart>().ToList();
        parts[0].State.Should().Be(ToolState.Completed);
        parts[1].State.Should().Be(ToolState.Error, "a call asked for on the last step is never run");
        parts[1].Error.Should().Contain("not run");
        (await h.Sessions.GetMessagesAsync(session.Id))[1].Error!.Kind.Should().Be(MessageErrorKind.MaxSteps);
    }

    [Test]
    public async Task ChatStreamingAsync_MaxStepsWithCallerTools_CallerToolsWithheldOnTheLastStepToo()
    {
        var callerTool = AIFunctionFactory.Create(() => "x", "caller_tool");
        await using var h = new EngineHarness(o => o.MaxSteps = 1);
        var session = await h.Sessions.CreateAsync();
        h.Client.EnqueueText("text only");

        await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "hi", Options = new ChatOptions { Tools = [callerTool] } });

        (h.Client.Calls[0].Options?.Tools ?? []).Should().BeEmpty();
    }

    [Test]
    public async Task ChatStreamingAsync_LastStepWithCallerToolMode_ToolModeDroppedWithTheTools()
    {
        await using var h = new EngineHarness(o => o.MaxSteps = 1, b => b.AddTool(EngineHarness.Tool("t", s => s)));
        var session = await h.Sessions.CreateAsync();
        h.Client.EnqueueText("text only");

        await h.Sessions.ChatAsync(new ChatRequest
        {
            SessionId = session.Id,
            Text = "hi",
            Options = new ChatOptions { ToolMode = ChatToolMode.RequireAny, AllowMultipleToolCalls = true },
        });

        var options = h.Client.Calls[0].Options!;
        (options.Tools ?? []).Should().BeEmpty();
        options.ToolMode.Should().BeNull("requiring a tool call with no tools offered is an error at providers");
        options.AllowMultipleToolCalls.Should().BeNull();
    }

    [Test]
    public async Task ChatStreamingAsync_MaxStepsReachedAnsweringInText_ExitCompleted()
    {
        await using var h = new EngineHarness(o => o.MaxSteps = 2, b => b.AddTool(EngineHarness.Tool("t", s => s)));
        h.Client.Enqueue(r => r.ToolCall("call_1", "t", new { input = "" })).EnqueueText("final");
        var session = await h.Sessions.CreateAsync();

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Completed.ExitReason.Value.Should().Be("completed");
        result.Completed.Message.Error.Should().BeNull();
        result.Completed.Message.Text.Should().Be("final");
    }

    [Test]
    public async Task ChatStreamingAsync_CallerToolInChatOptions_IsRunWhenTheModelCallsIt()
    {
        var callerTool = AIFunctionFactory.Create((string input) => "caller saw " + input, "caller_tool");
        await using var h = new EngineHarness(build: b => b.AddTool(EngineHarness.Tool("registered", s => s)));
        h.Client.Enqueue(r => r.ToolCall("call_1", "caller_tool", new { input = "hi" })).EnqueueText("ok");
        var session = await h.Sessions.CreateAsync();

        var message = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "go", Options = new ChatOptions { Tools = [callerTool] } });

        h.Client.Calls[0].Options!.Tools!.Select(t => t.Name).Should().BeEquivalentTo("caller_tool", "registered");
        var part = message.Parts.OfType<ToolPart>().Single();
        (part.State, part.Output).Should().Be((ToolState.Completed, "caller saw hi"));
    }

    [Test]
    public async Task ChatStreamingAsync_ToolGetsServicesAndCancellationToken()
    {
        IServiceProvider? seen = null;
        var tool = AIFunctionFactory.Create((IServiceProvider services, CancellationToken ct) =>
        {
            seen = services;
            return ct.CanBeCanceled ? "cancellable" : "not cancellable";
        }, "probe");
        await using var h = new EngineHarness(build: b => b.AddTool(tool));
        h.Client.Enqueue(r => r.ToolCall("call_1", "probe")).EnqueueText("ok");
        var session = await h.Sessions.CreateAsync();

        var message = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "go" });

        message.Parts.OfType<ToolPart>().Single().Output.Should().Be("cancellable");
        seen!.GetService(typeof(ISessionService)).Should().BeSameAs(h.Sessions);
    }

    private static string? Result(EngineHarness h, int call, string callId) =>
        h.Client.Calls[call].Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single(r => r.CallId == callId).Result as string;
}
