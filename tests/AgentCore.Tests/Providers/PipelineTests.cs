using AgentCore.Testing;
using AgentCore.Tests.Engine;
using FluentAssertions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NUnit.Framework;

namespace AgentCore.Tests.Providers;

/// <summary>
/// Chat clients built with Microsoft.Extensions.AI's <see cref="ChatClientBuilder"/> (the real package) under AgentCore:
/// a tool turn runs each tool once, makes one model call per step, stores its text once and prices every call.
/// </summary>
public sealed class PipelineTests
{
    private static readonly ModelInfo Model = new("pipe", "m", 200_000, 8_000, EngineHarness.Pricing);

    /// <summary>The standard pipelines: each must pass a tool turn unchanged.</summary>
    private static IEnumerable<TestCaseData> Pipelines()
    {
        yield return Case("UseFunctionInvocation", b => b.UseFunctionInvocation());
        yield return Case("UseOpenTelemetry", b => b.UseOpenTelemetry(sourceName: "AgentCore.Tests.Pipelines"));
        yield return Case("UseLogging", b => b.UseLogging(NullLoggerFactory.Instance));
        yield return Case("UseDistributedCache", b => b.UseDistributedCache(NewCache()));
        yield return Case("all four", b => b
            .UseOpenTelemetry(sourceName: "AgentCore.Tests.Pipelines")
            .UseLogging(NullLoggerFactory.Instance)
            .UseDistributedCache(NewCache())
            .UseFunctionInvocation());

        static TestCaseData Case(string name, Func<ChatClientBuilder, ChatClientBuilder> pipeline) =>
            new TestCaseData(pipeline).SetArgDisplayNames(name);
    }

    [TestCaseSource(nameof(Pipelines))]
    public async Task ChatStreamingAsync_StandardPipeline_ToolRunsOnceTwoModelCallsTextOnceCostOfBoth(Func<ChatClientBuilder, ChatClientBuilder> pipeline)
    {
        var inner = new ScriptedChatClient();
        int runs = 0;
        var weather = AIFunctionFactory.Create((string city) => { runs++; return $"21 °C in {city}"; }, "get_weather", "Current weather.");
        await using var h = Harness(pipeline(new ChatClientBuilder(inner)).Build(), b => b.AddTool(weather));
        inner.Enqueue(r => r.ToolCall("call_1", "get_weather", new { city = "Oslo" }).Usage(1_000, 100))
             .Enqueue(r => r.Text("It is 21 °C.").Usage(1_200, 50));
        var session = await h.Sessions.CreateAsync();

        var result = await h.ChatCapturingAsync(session.Id, "Weather in Oslo?");

        result.Error.Should().BeNull();
        runs.Should().Be(1, "AgentCore runs the tool; the pipeline must not run it too");
        inner.Calls.Should().HaveCount(2);
        inner.Calls[0].Options!.Tools.Should().ContainSingle().Which.Should().NotBeAssignableTo<AIFunction>("tools are advertised as declarations only");
        var message = result.Completed.Message;
        message.Text.Should().Be("It is 21 °C.");
        message.Parts.OfType<ToolPart>().Should().ContainSingle().Which.Output.Should().Be("21 °C in Oslo");
        message.Tokens.Input.Should().Be(2_200);
        message.Tokens.Output.Should().Be(150);
        message.Cost.Should().Be(0.00885m, "2 200 input at $3/M + 150 output at $15/M: both model calls, once each");
        result.Events.OfType<StepFinished>().Should().HaveCount(2);
        var stored = (await h.Sessions.GetMessagesAsync(session.Id))[1];
        stored.Text.Should().Be("It is 21 °C.");
        stored.Cost.Should().Be(message.Cost);
    }

    [Test]
    public async Task ChatStreamingAsync_FunctionInvocationWithCallerTools_CallerToolRunsOnce()
    {
        var inner = new ScriptedChatClient();
        int runs = 0;
        var callerTool = AIFunctionFactory.Create(() => { runs++; return "done"; }, "caller_tool", "The caller's own tool.");
        await using var h = Harness(new ChatClientBuilder(inner).UseFunctionInvocation().Build());
        inner.Enqueue(r => r.ToolCall("call_1", "caller_tool").Usage(10, 1)).Enqueue(r => r.Text("ok").Usage(10, 1));
        var session = await h.Sessions.CreateAsync();

        var result = await EngineHarness.CaptureAsync(h.Sessions.ChatStreamingAsync(new ChatRequest
        {
            SessionId = session.Id,
            Text = "go",
            Options = new ChatOptions { Tools = [callerTool] },
        }));

        result.Error.Should().BeNull();
        runs.Should().Be(1);
        inner.Calls.Should().HaveCount(2);
        inner.Calls[0].Options!.Tools.Should().ContainSingle().Which.Should().NotBeAssignableTo<AIFunction>();
        result.Completed.Message.Parts.OfType<ToolPart>().Single().State.Should().Be(ToolState.Completed);
        result.Completed.Message.Text.Should().Be("ok");
    }

    [Test]
    public async Task ChatStreamingAsync_PipelineRunsToolItself_RecordedAsCompletedNeverRunAgainNextPromptValid()
    {
        // A FunctionInvokingChatClient with a tool of its own (AdditionalTools) runs it and streams its result.
        var inner = new ScriptedChatClient();
        int pipelineRuns = 0;
        int agentCoreRuns = 0;
        var pipelineTool = AIFunctionFactory.Create(() => { pipelineRuns++; return "from the pipeline"; }, "lookup", "Pipeline's tool.");
        var client = new ChatClientBuilder(inner)
            .UseFunctionInvocation(configure: f => f.AdditionalTools = [pipelineTool])
            .Build();
        var registered = AIFunctionFactory.Create(() => { agentCoreRuns++; return "agentcore"; }, "lookup", "Same name, registered with AgentCore.");
        await using var h = Harness(client, b => b.AddTool(registered));
        inner.Enqueue(r => r.ToolCall("call_1", "lookup").Usage(100, 10))
             .Enqueue(r => r.Text("Found it.").Usage(200, 20))
             .Enqueue(r => r.Text("Second answer.").Usage(300, 5));
        var session = await h.Sessions.CreateAsync();

        var result = await h.ChatCapturingAsync(session.Id, "look it up");

        result.Error.Should().BeNull();
        pipelineRuns.Should().Be(0, "AgentCore's declaration of 'lookup' comes first in the options, so the pipeline hands the call back");
        agentCoreRuns.Should().Be(1);
        inner.Calls.Should().HaveCount(2);
        result.Completed.Message.Text.Should().Be("Found it.");

        // A name only the pipeline knows: it runs the tool and streams the result; AgentCore records it and runs nothing.
        var onlyPipeline = AIFunctionFactory.Create(() => { pipelineRuns++; return "pipeline only"; }, "pipeline_only", "Known to the pipeline alone.");
        var inner2 = new ScriptedChatClient();
        await using var h2 = Harness(new ChatClientBuilder(inner2).UseFunctionInvocation(configure: f => f.AdditionalTools = [onlyPipeline]).Build());
        inner2.Enqueue(r => r.ToolCall("call_9", "pipeline_only").Usage(100, 10))
              .Enqueue(r => r.Text("Done.").Usage(200, 20))
              .Enqueue(r => r.Text("Next.").Usage(300, 5));
        var session2 = await h2.Sessions.CreateAsync();

        var turn = await h2.ChatCapturingAsync(session2.Id, "go");

        turn.Error.Should().BeNull();
        pipelineRuns.Should().Be(1);
        inner2.Calls.Should().HaveCount(2, "the pipeline's own loop made both model calls; AgentCore made no third");
        var message = turn.Completed.Message;
        var tool = message.Parts.OfType<ToolPart>().Should().ContainSingle().Which;
        tool.State.Should().Be(ToolState.Completed);
        tool.Output.Should().Be("pipeline only");
        message.Text.Should().Be("Done.");
        message.Parts.OfType<StepStartPart>().Should().HaveCount(2, "each model call of the pipeline is a step");
        turn.Events.OfType<StepFinished>().Select(s => s.Tokens.Input).Should().Equal(100, 200);
        message.Cost.Should().Be(0.00135m, "300 input at $3/M + 30 output at $15/M");

        // The next turn's prompt answers the call before the text that followed it.
        (await h2.ChatCapturingAsync(session2.Id, "again")).Error.Should().BeNull();
        var prompt = inner2.Calls[2].Messages;
        var roles = prompt.Skip(1).Select(m => m.Role).ToList();
        roles.Should().Equal(ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant, ChatRole.User);
        prompt[3].Contents.OfType<FunctionResultContent>().Single().Result.Should().Be("pipeline only");
    }

    [Test]
    public async Task ChatStreamingAsync_ResultStreamedBeforeItsCall_CallRecordedCompletedNotRun()
    {
        var inner = new ScriptedChatClient();
        int runs = 0;
        await using var h = Harness(inner, b => b.AddTool(AIFunctionFactory.Create(() => { runs++; return "x"; }, "search", "Search.")));
        inner.Enqueue(r => r
            .Content(() => new FunctionResultContent("srv_1", "server result"))
            .Content(() => new FunctionCallContent("srv_1", "search") { InformationalOnly = true })
            .Text("Answer.")
            .Usage(10, 2));
        var session = await h.Sessions.CreateAsync();

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Error.Should().BeNull();
        runs.Should().Be(0);
        inner.Calls.Should().ContainSingle();
        var tool = result.Completed.Message.Parts.OfType<ToolPart>().Single();
        tool.State.Should().Be(ToolState.Completed);
        tool.Output.Should().Be("server result");
        result.Completed.Message.Text.Should().Be("Answer.");
    }

    [Test]
    public async Task ChatStreamingAsync_InformationalCallWithoutResult_ClosedNotRun()
    {
        var inner = new ScriptedChatClient();
        int runs = 0;
        await using var h = Harness(inner, b => b.AddTool(AIFunctionFactory.Create(() => { runs++; return "x"; }, "search", "Search.")));
        inner.Enqueue(r => r.Content(() => new FunctionCallContent("srv_2", "search") { InformationalOnly = true }).Text("Answer.").Usage(10, 2));
        var session = await h.Sessions.CreateAsync();

        var result = await h.ChatCapturingAsync(session.Id, "go");

        runs.Should().Be(0);
        inner.Calls.Should().ContainSingle();
        result.Completed.Message.Parts.OfType<ToolPart>().Single().State.Should().Be(ToolState.Completed);
        result.Completed.ExitReason.Should().Be(ExitReason.Completed);
    }

    private static EngineHarness Harness(IChatClient client, Action<IAgentCoreBuilder>? build = null) =>
        new(o => o.DefaultModel = "pipe/m", b =>
        {
            b.AddChatClient("pipe", client, [Model]);
            build?.Invoke(b);
        });

    private static MemoryDistributedCache NewCache() => new(Options.Create(new MemoryDistributedCacheOptions()));
}
