using AgentCore.Tests.Shared;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using AgentCore.Tests.Engine;
using AgentCore.Tests.Tools.Mcp;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCore.Tests.Diagnostics;

public sealed class TelemetryTests
{
    private const string Provider = "otel";
    private const string Secret = "my-secret-question";

    [Test]
    public async Task ChatStreamingAsync_TurnWithTool_EmitsInvokeAgentAndExecuteToolSpansWithTheStoredUsage()
    {
        using var telemetry = new TelemetryCapture();
        var client = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("call_1", "get_weather", new { input = "Oslo" }).Usage(input: 120, output: 12, cachedInput: 20, cacheWrite: 10))
            .Enqueue(r => r.Text("Sunny.").Usage(input: 160, output: 8));
        await using var h = Harness(client, out string model);
        var session = await h.Sessions.CreateAsync();

        var reply = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = Secret });

        var turn = telemetry.Turn(session.Id);
        turn.DisplayName.Should().Be("invoke_agent");
        turn.Kind.Should().Be(ActivityKind.Internal);
        turn.Status.Should().Be(ActivityStatusCode.Unset);
        turn.GetTagItem("gen_ai.operation.name").Should().Be("invoke_agent");
        turn.GetTagItem("gen_ai.provider.name").Should().Be(Provider);
        turn.GetTagItem("gen_ai.request.model").Should().Be(model);
        turn.GetTagItem("gen_ai.agent.id").Should().Be("agentcore");
        turn.GetTagItem("gen_ai.usage.input_tokens").Should().Be(reply.Tokens.TotalInput).And.Be(280L);
        turn.GetTagItem("gen_ai.usage.output_tokens").Should().Be(reply.Tokens.Output).And.Be(20L);
        turn.GetTagItem("gen_ai.usage.cache_read.input_tokens").Should().Be(20L);
        turn.GetTagItem("gen_ai.usage.cache_creation.input_tokens").Should().Be(10L);
        turn.GetTagItem("gen_ai.response.finish_reasons").Should().BeEquivalentTo(new[] { "stop" });
        turn.GetTagItem("agentcore.exit_reason").Should().Be("completed");
        turn.GetTagItem("agentcore.cost").Should().Be((double)reply.Cost);
        reply.Cost.Should().BePositive();
        turn.GetTagItem("agentcore.steps").Should().Be(2);
        turn.GetTagItem("agentcore.tool_calls").Should().Be(1);
        turn.GetTagItem("agentcore.message.id").Should().Be(reply.Id);

        var tool = telemetry.SpansOf(turn).Should().ContainSingle(a => a.OperationName.StartsWith("execute_tool", StringComparison.Ordinal)).Subject;
        tool.DisplayName.Should().Be("execute_tool get_weather");
        tool.Kind.Should().Be(ActivityKind.Internal);
        tool.ParentSpanId.Should().Be(turn.SpanId);
        tool.Status.Should().Be(ActivityStatusCode.Unset);
        tool.GetTagItem("gen_ai.operation.name").Should().Be("execute_tool");
        tool.GetTagItem("gen_ai.tool.name").Should().Be("get_weather");
        tool.GetTagItem("gen_ai.tool.call.id").Should().Be("call_1");
        tool.GetTagItem("gen_ai.tool.type").Should().Be("function");
        tool.GetTagItem("gen_ai.tool.description").Should().Be("Test tool get_weather.");
        tool.GetTagItem("gen_ai.conversation.id").Should().Be(session.Id);
    }

    [Test]
    public async Task ChatStreamingAsync_InnerUseOpenTelemetryClient_ChatSpansNestUnderTheTurnAndTheTurnUnderTheCaller()
    {
        string chatSource = "otel-chat-" + Guid.NewGuid().ToString("N");
        using var caller = new ActivitySource("otel-caller-" + Guid.NewGuid().ToString("N"));
        using var telemetry = new TelemetryCapture(chatSource, caller.Name);
        var scripted = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("call_1", "get_weather", new { input = "Oslo" }).Usage(input: 100, output: 10))
            .Enqueue(r => r.Text("Sunny.").Usage(input: 150, output: 5));
        var client = new ChatClientBuilder(scripted).UseOpenTelemetry(sourceName: chatSource).Build();
        await using var h = Harness(client, out _);
        var session = await h.Sessions.CreateAsync();

        Activity request;
        using (request = caller.StartActivity("POST /chat")!)
        {
            // The turn runs on a task of its own: the caller's span must still be its parent.
            await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "weather?" });
        }

        var turn = telemetry.Turn(session.Id);
        turn.ParentSpanId.Should().Be(request.SpanId);
        var spans = telemetry.SpansOf(turn);
        var chats = spans.Where(a => a.Source.Name == chatSource).ToList();
        chats.Should().HaveCount(2, "one chat span per model call");
        chats.Should().OnlyContain(a => a.ParentSpanId == turn.SpanId);
        chats.Should().OnlyContain(a => a.DisplayName.StartsWith("chat", StringComparison.Ordinal));
        spans.Should().ContainSingle(a => a.DisplayName == "execute_tool get_weather").Which.ParentSpanId.Should().Be(turn.SpanId);
    }

    [Test]
    public async Task ChatStreamingAsync_TurnWithTool_MetricsEqualTheStoredUsageAndCost()
    {
        using var telemetry = new TelemetryCapture();
        var time = new ObservedTimeProvider();
        var client = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("call_1", "get_weather", new { input = "Oslo" }).Usage(input: 1_200, output: 40, cachedInput: 300))
            .Enqueue(r => r.Text("Sunny.").Usage(input: 1_600, output: 25, cacheWrite: 50));
        await using var h = Harness(client, out string model, time: time, tool: _ =>
        {
            time.Advance(TimeSpan.FromSeconds(2));
            return "12 °C";
        });
        var session = await h.Sessions.CreateAsync();

        var reply = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "weather?" });

        var stored = await h.Sessions.GetAsync(session.Id);
        var tokens = telemetry.Points(AgentCoreTelemetry.TokenUsageInstrument, model);
        tokens.Should().HaveCount(2);
        var input = tokens.Single(p => TelemetryCapture.Tag(p, "gen_ai.token.type") as string == "input");
        var output = tokens.Single(p => TelemetryCapture.Tag(p, "gen_ai.token.type") as string == "output");
        input.GetHistogramSum().Should().Be(stored.Tokens.TotalInput).And.Be(2_800);
        output.GetHistogramSum().Should().Be(stored.Tokens.Output).And.Be(65);
        TelemetryCapture.Tag(input, "gen_ai.operation.name").Should().Be("invoke_agent");
        TelemetryCapture.Tag(input, "gen_ai.provider.name").Should().Be(Provider);
        telemetry.Instrument(AgentCoreTelemetry.TokenUsageInstrument).Unit.Should().Be("{token}");

        var cost = telemetry.Points(AgentCoreTelemetry.CostInstrument, model).Should().ContainSingle().Subject;
        cost.GetSumDouble().Should().Be((double)stored.Cost);
        stored.Cost.Should().Be(reply.Cost).And.BePositive();

        var duration = telemetry.Points(AgentCoreTelemetry.OperationDurationInstrument, model).Should().ContainSingle().Subject;
        duration.GetHistogramCount().Should().Be(1);
        duration.GetHistogramSum().Should().Be(2.0, "the turn took two seconds of the injected clock");
        telemetry.Instrument(AgentCoreTelemetry.OperationDurationInstrument).Unit.Should().Be("s");

        var turns = telemetry.Points(AgentCoreTelemetry.TurnsInstrument, model).Should().ContainSingle().Subject;
        turns.GetSumLong().Should().Be(1);
        TelemetryCapture.Tag(turns, "agentcore.exit_reason").Should().Be("completed");

        var toolCalls = telemetry.Instrument(AgentCoreTelemetry.ToolCallsInstrument).MetricPoints
            .Where(p => TelemetryCapture.Tag(p, "gen_ai.tool.name") as string == "get_weather" && TelemetryCapture.Tag(p, "agentcore.tool.outcome") as string == "completed");
        toolCalls.Sum(p => p.GetSumLong()).Should().BeGreaterThanOrEqualTo(1);
    }

    [Test]
    public async Task ChatStreamingAsync_AutoCompaction_EmitsACompactionSpanUnderTheTurnAndCostMetricsAddUpToTheSessionTotal()
    {
        using var telemetry = new TelemetryCapture();
        var client = new ScriptedChatClient()
            .Enqueue(r => r.Text("First answer.").Usage(input: 9_000, output: 100))
            .Enqueue(r => r.Text("The summary.").Usage(input: 9_100, output: 300))
            .Enqueue(r => r.Text("Second answer.").Usage(input: 400, output: 20));
        await using var h = Harness(client, out string model, contextWindow: 10_000);
        var session = await h.Sessions.CreateAsync();
        await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "first" });

        await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "second" });

        var turns = telemetry.Spans().Where(a => a.OperationName == "invoke_agent" && (string?)a.GetTagItem("gen_ai.conversation.id") == session.Id).ToList();
        turns.Should().HaveCount(2);
        var messages = await h.Sessions.GetMessagesAsync(session.Id);
        var summary = messages.Should().ContainSingle(m => m.IsSummary).Subject;
        var compaction = telemetry.SpansOf(turns[1]).Should().ContainSingle(a => a.OperationName == "agentcore.compaction").Subject;
        compaction.ParentSpanId.Should().Be(turns[1].SpanId);
        compaction.Kind.Should().Be(ActivityKind.Internal);
        compaction.Status.Should().Be(ActivityStatusCode.Unset);
        compaction.GetTagItem("gen_ai.operation.name").Should().Be("agentcore.compaction");
        compaction.GetTagItem("gen_ai.request.model").Should().Be(model);
        compaction.GetTagItem("gen_ai.conversation.id").Should().Be(session.Id);
        compaction.GetTagItem("gen_ai.usage.input_tokens").Should().Be(summary.Tokens.TotalInput).And.Be(9_100L);
        compaction.GetTagItem("gen_ai.usage.output_tokens").Should().Be(300L);
        compaction.GetTagItem("agentcore.cost").Should().Be((double)summary.Cost);
        compaction.GetTagItem("gen_ai.output.messages").Should().BeNull("contents are off by default");

        var costs = telemetry.Points(AgentCoreTelemetry.CostInstrument, model);
        costs.Select(p => TelemetryCapture.Tag(p, "gen_ai.operation.name")).Should().BeEquivalentTo(["invoke_agent", "agentcore.compaction"]);
        costs.Single(p => TelemetryCapture.Tag(p, "gen_ai.operation.name") as string == "agentcore.compaction").GetSumDouble().Should().Be((double)summary.Cost);
        var total = (await h.Sessions.GetAsync(session.Id)).Cost;
        costs.Sum(p => p.GetSumDouble()).Should().BeApproximately((double)total, 1e-12, "the cost counter adds exactly what the session's total adds");
    }

    [Test]
    public async Task ChatStreamingAsync_FirstTurnWithTitles_EmitsATitleSpanUnderTheTurn()
    {
        using var telemetry = new TelemetryCapture();
        string titleModel = "t-" + Guid.NewGuid().ToString("N");
        var titles = new ScriptedChatClient().Enqueue(r => r.Text("Weather in Oslo").Usage(input: 50, output: 4));
        var client = new ScriptedChatClient().Enqueue(r => r.Text("Sunny.").Usage(input: 10, output: 2));
        await using var h = Harness(client, out _, configure: o => { o.GenerateTitles = true; o.TitleModel = $"titles/{titleModel}"; },
            build: b => b.AddChatClient("titles", titles, [new ModelInfo("titles", titleModel, 8_000, 1_000, new ModelPricing(2m, 10m))]));
        var session = await h.Sessions.CreateAsync();

        await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = Secret });
        await ((SessionService)h.Sessions).BackgroundIdle();

        var turn = telemetry.Turn(session.Id);
        var title = telemetry.SpansOf(turn).Should().ContainSingle(a => a.OperationName == "agentcore.title").Subject;
        title.ParentSpanId.Should().Be(turn.SpanId);
        title.Status.Should().Be(ActivityStatusCode.Unset);
        title.GetTagItem("gen_ai.provider.name").Should().Be("titles");
        title.GetTagItem("gen_ai.request.model").Should().Be(titleModel);
        title.GetTagItem("gen_ai.conversation.id").Should().Be(session.Id);
        title.GetTagItem("gen_ai.usage.input_tokens").Should().Be(50L);
        title.GetTagItem("gen_ai.usage.output_tokens").Should().Be(4L);
        title.GetTagItem("agentcore.cost").Should().Be((double)0.00014m, "the title call is priced like any other: 50 in at $2/M + 4 out at $10/M");
        title.GetTagItem("gen_ai.output.messages").Should().BeNull("contents are off by default");
        var tokens = telemetry.Points(AgentCoreTelemetry.TokenUsageInstrument, titleModel);
        tokens.Should().HaveCount(2).And.OnlyContain(p => TelemetryCapture.Tag(p, "gen_ai.operation.name") as string == "agentcore.title");
    }

    [Test]
    public async Task ChatStreamingAsync_SensitiveDataOff_NoContentOnAnySpan()
    {
        using var telemetry = new TelemetryCapture();
        var client = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("call_1", "get_weather", new { input = "secret-city" }).Usage(input: 10, output: 1))
            .Enqueue(r => r.Text("secret-reply").Usage(input: 20, output: 2));
        var titles = new ScriptedChatClient().Enqueue(r => r.Text("secret-title").Usage(input: 5, output: 1));
        await using var h = Harness(client, out _, tool: _ => "secret-result",
            configure: o => { o.GenerateTitles = true; o.TitleModel = "titles/namer"; },
            build: b => b.AddChatClient("titles", titles, [new ModelInfo("titles", "namer", 8_000, 1_000)]));
        var session = await h.Sessions.CreateAsync();

        await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = Secret });
        await ((SessionService)h.Sessions).BackgroundIdle();

        var spans = telemetry.SpansOf(telemetry.Turn(session.Id));
        spans.Select(a => a.OperationName).Should().Contain(["invoke_agent", "execute_tool get_weather", "agentcore.title"]);
        var values = spans.SelectMany(a => a.TagObjects).Select(t => t.Value is string[] array ? string.Join(",", array) : t.Value?.ToString() ?? "").ToList();
        values.Should().NotContain(v => v.Contains("secret", StringComparison.Ordinal));
        spans.SelectMany(a => a.TagObjects).Select(t => t.Key).Should().NotContain(["gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result"]);
    }

    [Test]
    public async Task ChatStreamingAsync_SensitiveDataOn_SpansCarryMessagesAndToolArgumentsAndResults()
    {
        using var telemetry = new TelemetryCapture();
        var client = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("call_1", "get_weather", new { input = "Oslo" }).Usage(input: 10, output: 1))
            .Enqueue(r => r.Text("It is sunny.").Usage(input: 20, output: 2));
        await using var h = Harness(client, out _, tool: city => $"12 °C in {city}", configure: o => o.EnableSensitiveTelemetryData = true);
        var session = await h.Sessions.CreateAsync();

        await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = Secret });

        var turn = telemetry.Turn(session.Id);
        using (var input = JsonDocument.Parse((string)turn.GetTagItem("gen_ai.input.messages")!))
        {
            var message = input.RootElement.EnumerateArray().Should().ContainSingle().Subject;
            message.GetProperty("role").GetString().Should().Be("user");
            message.GetProperty("parts")[0].GetProperty("type").GetString().Should().Be("text");
            message.GetProperty("parts")[0].GetProperty("content").GetString().Should().Be(Secret);
        }

        using (var output = JsonDocument.Parse((string)turn.GetTagItem("gen_ai.output.messages")!))
        {
            var message = output.RootElement.EnumerateArray().Should().ContainSingle().Subject;
            message.GetProperty("role").GetString().Should().Be("assistant");
            message.GetProperty("finish_reason").GetString().Should().Be("stop");
            var parts = message.GetProperty("parts").EnumerateArray().ToList();
            parts.Should().Contain(p => p.GetProperty("type").GetString() == "tool_call" && p.GetProperty("name").GetString() == "get_weather");
            parts.Should().Contain(p => p.GetProperty("type").GetString() == "text" && p.GetProperty("content").GetString() == "It is sunny.");
        }

        var tool = telemetry.SpansOf(turn).Single(a => a.DisplayName == "execute_tool get_weather");
        tool.GetTagItem("gen_ai.tool.call.arguments").Should().Be("""{"input":"Oslo"}""");
        tool.GetTagItem("gen_ai.tool.call.result").Should().Be("12 °C in Oslo");
    }

    [Test]
    public async Task ChatStreamingAsync_ModelCallFails_TurnSpanHasErrorStatusAndErrorType()
    {
        using var telemetry = new TelemetryCapture();
        var client = new ScriptedChatClient().Enqueue(r => r.Throw(new InvalidOperationException("the model broke")));
        await using var h = Harness(client, out string model, configure: o => o.MaxRetries = 0);
        var session = await h.Sessions.CreateAsync();

        var result = await EngineHarness.CaptureAsync(h.Sessions.ChatStreamingAsync(new ChatRequest { SessionId = session.Id, Text = "hi" }));

        result.Error.Should().BeOfType<InvalidOperationException>();
        var turn = telemetry.Turn(session.Id);
        turn.Status.Should().Be(ActivityStatusCode.Error);
        turn.StatusDescription.Should().Be("the model broke");
        turn.GetTagItem("error.type").Should().Be("System.InvalidOperationException");
        turn.GetTagItem("agentcore.exit_reason").Should().Be("error");
        var duration = telemetry.Points(AgentCoreTelemetry.OperationDurationInstrument, model).Should().ContainSingle().Subject;
        TelemetryCapture.Tag(duration, "error.type").Should().Be("System.InvalidOperationException");
        var turns = telemetry.Points(AgentCoreTelemetry.TurnsInstrument, model).Should().ContainSingle().Subject;
        TelemetryCapture.Tag(turns, "agentcore.exit_reason").Should().Be("error");
    }

    [Test]
    public async Task ChatStreamingAsync_ToolThrows_ToolSpanHasErrorStatusAndTheTurnCompletes()
    {
        using var telemetry = new TelemetryCapture();
        var client = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("call_1", "get_weather", new { input = "Oslo" }).ToolCall("call_2", "no_such_tool").Usage(input: 10, output: 1))
            .Enqueue(r => r.Text("Sorry.").Usage(input: 20, output: 2));
        string toolName = "get_weather";
        await using var h = Harness(client, out _, tool: _ => throw new TimeoutException("weather service timed out"));
        var session = await h.Sessions.CreateAsync();

        await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "weather?" });

        var turn = telemetry.Turn(session.Id);
        turn.Status.Should().Be(ActivityStatusCode.Unset, "a failing tool is a result for the model, not a failed turn");
        var spans = telemetry.SpansOf(turn);
        var failed = spans.Single(a => a.DisplayName == $"execute_tool {toolName}");
        failed.Status.Should().Be(ActivityStatusCode.Error);
        failed.StatusDescription.Should().BeNull("the error text may hold content; it is recorded only when contents are enabled");
        failed.GetTagItem("error.type").Should().Be("System.TimeoutException");
        var unknown = spans.Single(a => a.DisplayName == "execute_tool no_such_tool");
        unknown.Status.Should().Be(ActivityStatusCode.Error);
        unknown.GetTagItem("error.type").Should().Be("unknown_tool");
        telemetry.Instrument(AgentCoreTelemetry.ToolCallsInstrument).MetricPoints
            .Where(p => TelemetryCapture.Tag(p, "gen_ai.tool.name") as string == "no_such_tool" && TelemetryCapture.Tag(p, "agentcore.tool.outcome") as string == "error")
            .Sum(p => p.GetSumLong()).Should().BeGreaterThanOrEqualTo(1);
    }

    [Test]
    public async Task Abort_MidTool_ToolSpanSaysAbortedAndTheTurnSpanIsNotAnError()
    {
        using var telemetry = new TelemetryCapture();
        var started = EngineHarness.Signal();
        var slow = AIFunctionFactory.Create(async (CancellationToken ct) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return "never";
        }, "slow");
        var client = new ScriptedChatClient().Enqueue(r => r.ToolCall("call_1", "slow").Usage(input: 10, output: 1));
        await using var h = Harness(client, out string model, build: b => b.AddTool(slow));
        var session = await h.Sessions.CreateAsync();
        var turn = EngineHarness.CaptureAsync(h.Sessions.ChatStreamingAsync(new ChatRequest { SessionId = session.Id, Text = "go" }));
        await started.Task;

        h.Sessions.Abort(session.Id).Should().BeTrue();
        (await turn).Completed.ExitReason.Should().Be(ExitReason.Aborted);

        var span = telemetry.Turn(session.Id);
        span.Status.Should().Be(ActivityStatusCode.Unset, "an abort is the caller's doing, not a failure");
        span.GetTagItem("agentcore.exit_reason").Should().Be("aborted");
        var tool = telemetry.SpansOf(span).Single(a => a.DisplayName == "execute_tool slow");
        tool.GetTagItem("error.type").Should().Be("aborted");
        telemetry.Instrument(AgentCoreTelemetry.ToolCallsInstrument).MetricPoints
            .Where(p => TelemetryCapture.Tag(p, "gen_ai.tool.name") as string == "slow" && TelemetryCapture.Tag(p, "agentcore.tool.outcome") as string == "aborted")
            .Sum(p => p.GetSumLong()).Should().BeGreaterThanOrEqualTo(1);
        TelemetryCapture.Tag(telemetry.Points(AgentCoreTelemetry.TurnsInstrument, model).Should().ContainSingle().Subject, "agentcore.exit_reason").Should().Be("aborted");
    }

    [Test]
    public async Task StartTool_McpToolRequiringApproval_ToolTypeIsExtension()
    {
        using var telemetry = new TelemetryCapture();
        await using var server = new InProcessMcpServer().AddTextTool("delete", "gone");
        await using var provider = McpTestHost.Build(
            b => b.AddMcpServer("guarded", new McpServerConfig { Command = "in-process", RequireApproval = true }),
            new TestTransportFactory().Map("guarded", server));
        var tool = (await provider.GetRequiredService<IToolRegistry>().GetToolsAsync(McpTestHost.Context)).Should().ContainSingle().Subject;
        tool.Should().BeOfType<ApprovalRequiredAIFunction>();
        var part = new ToolPart { Id = "prt_1", CallId = "call_mcp", ToolName = tool.Name };

        using (var activity = AgentCoreInstrumentation.StartTool(turn: null, "ses_mcp_tool_type", part, tool))
        {
            activity.Should().NotBeNull();
        }

        var span = telemetry.Spans().Should().ContainSingle(a => (string?)a.GetTagItem("gen_ai.tool.call.id") == "call_mcp").Subject;
        span.GetTagItem("gen_ai.tool.type").Should().Be("extension");
    }

    [Test]
    public void Constructor_MeterFactoryGiven_CreatesTheAgentCoreMeterThroughIt()
    {
        using var factory = new RecordingMeterFactory();

        using (new AgentCoreInstrumentation(factory))
        {
        }

        var meter = factory.Created.Should().ContainSingle().Subject;
        meter.Name.Should().Be(AgentCoreTelemetry.MeterName);
    }

    private static EngineHarness Harness(
        IChatClient client,
        out string model,
        int contextWindow = 200_000,
        Func<string, string>? tool = null,
        Action<AgentCoreOptions>? configure = null,
        Action<IAgentCoreBuilder>? build = null,
        ObservedTimeProvider? time = null)
    {
        // A model id of this test's own: every meter provider of the process sees every AgentCore measurement.
        string id = "m-" + Guid.NewGuid().ToString("N");
        model = id;
        return new EngineHarness(
            o =>
            {
                o.DefaultModel = $"{Provider}/{id}";
                configure?.Invoke(o);
            },
            b =>
            {
                b.AddChatClient(Provider, client, [new ModelInfo(Provider, id, contextWindow, 1_000, EngineHarness.Pricing)]);
                b.AddTool(EngineHarness.Tool("get_weather", tool ?? (_ => "12 °C")));
                build?.Invoke(b);
            },
            time: time);
    }

    private sealed class RecordingMeterFactory : IMeterFactory
    {
        public List<Meter> Created { get; } = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            Created.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in Created)
            {
                meter.Dispose();
            }
        }
    }
}
