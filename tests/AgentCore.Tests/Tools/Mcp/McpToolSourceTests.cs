using System.IO.Pipelines;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.AI;
using AgentCore.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using NUnit.Framework;

namespace AgentCore.Tests.Tools.Mcp;

/// <summary>The MCP tool source against in-process servers: lazy start, naming, refresh, failures and retries.</summary>
public sealed class McpToolSourceTests
{
    private static readonly TimeSpan Safety = TimeSpan.FromSeconds(60);

    private static McpServerConfig Unused => new() { Command = "in-process" };

    private static async Task<IReadOnlyList<AIFunction>> ToolsAsync(IServiceProvider provider) =>
        await provider.GetRequiredService<IToolRegistry>().GetToolsAsync(McpTestHost.Context);

    [Test]
    public async Task GetStatus_BeforeAnyRequest_NotStartedAndNothingStarted()
    {
        await using var server = new InProcessMcpServer().AddTextTool("echo", "hi");
        var transports = new TestTransportFactory().Map("srv", server);
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("srv", Unused), transports);

        var status = provider.GetRequiredService<IMcpServers>().GetStatus();

        status.Should().Equal(new McpServerState("srv", McpServerStatus.NotStarted, null, 0));
        transports.CreatedCount.Should().Be(0);
    }

    [Test]
    public async Task GetToolsAsync_TwoServersAndALocalTool_AllOfferedWithServerPrefixes()
    {
        await using var alpha = new InProcessMcpServer().AddTextTool("echo", "a").AddTextTool("add", "3");
        await using var beta = new InProcessMcpServer().AddTextTool("echo", "b");
        var transports = new TestTransportFactory().Map("alpha", alpha).Map("beta", beta);
        await using var provider = McpTestHost.Build(b => b
            .AddTool(AIFunctionFactory.Create(() => "local", "local_tool"))
            .AddMcpServer("beta", Unused)
            .AddMcpServer("alpha", Unused), transports);

        var tools = await ToolsAsync(provider);

        tools.Select(t => t.Name).Should().Equal("local_tool", "alpha_add", "alpha_echo", "beta_echo");
        provider.GetRequiredService<IMcpServers>().GetStatus().Should().Equal(
            new McpServerState("alpha", McpServerStatus.Connected, null, 2),
            new McpServerState("beta", McpServerStatus.Connected, null, 1));
    }

    [Test]
    public async Task InvokeAsync_PrefixedTool_ServerGetsItsOwnNameAndTheArguments()
    {
        await using var server = new InProcessMcpServer().AddTool("get.sum",
            args => new CallToolResult { Content = [new TextContentBlock { Text = (args["a"].GetInt32() + args["b"].GetInt32()).ToString() }] },
            inputSchema: """{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"]}""");
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("calc", Unused), new TestTransportFactory().Map("calc", server));
        var tool = (await ToolsAsync(provider)).Single();

        var result = await tool.InvokeAsync(new AIFunctionArguments { ["a"] = 2, ["b"] = 40 });

        tool.Name.Should().Be("calc_get_sum");
        tool.JsonSchema.GetProperty("required").EnumerateArray().Select(e => e.GetString()).Should().Equal("a", "b");
        result.Should().BeAssignableTo<IList<AIContent>>().Which.Should().ContainSingle()
            .Which.Should().BeOfType<TextContent>().Which.Text.Should().Be("42");
        server.Calls.Should().ContainSingle().Which.Tool.Should().Be("get.sum");
    }

    [Test]
    public async Task GetToolsAsync_Repeated_OneConnectionAndTheSameList()
    {
        await using var server = new InProcessMcpServer().AddTextTool("echo", "hi");
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("srv", Unused), new TestTransportFactory().Map("srv", server));

        var first = await ToolsAsync(provider);
        var second = await ToolsAsync(provider);

        server.ConnectionCount.Should().Be(1);
        second.Single().Should().BeSameAs(first.Single());
    }

    [Test]
    public async Task GetToolsAsync_ConcurrentFirstRequests_ShareOneConnection()
    {
        await using var server = new InProcessMcpServer().AddTextTool("echo", "hi");
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("srv", Unused), new TestTransportFactory().Map("srv", server));

        var all = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => ToolsAsync(provider)));

        server.ConnectionCount.Should().Be(1);
        all.Should().OnlyContain(tools => tools.Single().Name == "srv_echo");
    }

    [Test]
    public async Task GetToolsAsync_AfterListChangedNotification_ListRefreshed()
    {
        await using var server = new InProcessMcpServer().AddTextTool("old", "1");
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("srv", Unused), new TestTransportFactory().Map("srv", server));
        (await ToolsAsync(provider)).Select(t => t.Name).Should().Equal("srv_old");
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        provider.GetRequiredService<McpToolSource>().Servers.Single().ToolListChanged += _ => changed.TrySetResult();

        server.RemoveTool("old");
        server.AddTextTool("new", "2");
        await server.NotifyToolListChangedAsync();
        await changed.Task.WaitAsync(Safety);
        var tools = await ToolsAsync(provider);

        tools.Select(t => t.Name).Should().Equal("srv_new");
        server.ConnectionCount.Should().Be(1, "a list change re-lists on the same connection");
        provider.GetRequiredService<IMcpServers>().GetStatus().Single().ToolCount.Should().Be(1);
    }

    [Test]
    public async Task GetToolsAsync_ServerFailsToStart_ReportedWhileOthersAndLocalToolsServe()
    {
        await using var good = new InProcessMcpServer().AddTextTool("echo", "hi");
        var transports = new TestTransportFactory().Map("good", good).Map("bad", () => new FailingTransport("cannot start the server"));
        await using var provider = McpTestHost.Build(b => b
            .AddTool(AIFunctionFactory.Create(() => "local", "local_tool"))
            .AddMcpServer("bad", Unused)
            .AddMcpServer("good", Unused), transports);

        var tools = await ToolsAsync(provider);

        tools.Select(t => t.Name).Should().Equal("local_tool", "good_echo");
        var status = provider.GetRequiredService<IMcpServers>().GetStatus();
        status[0].Should().BeEquivalentTo(new { Name = "bad", Status = McpServerStatus.Failed, ToolCount = 0 });
        status[0].Error.Should().Contain("cannot start the server");
        status[1].Status.Should().Be(McpServerStatus.Connected);
    }

    [Test]
    public async Task GetToolsAsync_AfterAFailure_NoNewAttemptUntilTheBackOffIsOver()
    {
        var time = new FakeTimeProvider();
        await using var server = new InProcessMcpServer().AddTextTool("echo", "hi");
        int attempts = 0;
        var transports = new TestTransportFactory().Map("srv", () => ++attempts == 1 ? new FailingTransport("not yet") : server.CreateTransport());
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("srv", Unused), transports,
            services => services.AddSingleton<TimeProvider>(time));
        var servers = provider.GetRequiredService<IMcpServers>();

        var first = await ToolsAsync(provider);
        var afterFirst = servers.GetStatus().Single();
        time.Advance(McpServerConnection.FirstRetryDelay - TimeSpan.FromMilliseconds(1));
        var inBackOff = await ToolsAsync(provider);
        int attemptsInBackOff = attempts;
        time.Advance(TimeSpan.FromMilliseconds(1));
        var afterBackOff = await ToolsAsync(provider);

        first.Should().BeEmpty();
        afterFirst.Status.Should().Be(McpServerStatus.Failed);
        afterFirst.Error.Should().Contain("not yet");
        inBackOff.Should().BeEmpty();
        attemptsInBackOff.Should().Be(1, "a request during the back-off gets no tools without a new attempt");
        afterBackOff.Select(t => t.Name).Should().Equal("srv_echo");
        attempts.Should().Be(2);
        servers.GetStatus().Single().Should().Be(new McpServerState("srv", McpServerStatus.Connected, null, 1));
    }

    [Test]
    public async Task GetToolsAsync_FailuresInARow_BackOffDoublesUpToTheCap()
    {
        var time = new FakeTimeProvider();
        int attempts = 0;
        var transports = new TestTransportFactory().Map("down", () => { attempts++; return new FailingTransport("down"); });
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("down", Unused), transports,
            services => services.AddSingleton<TimeProvider>(time));
        var waits = new List<TimeSpan>();

        await ToolsAsync(provider);
        while (waits.Count < 9)
        {
            // Moves one second at a time until the next attempt: the wait is what the back-off was.
            int before = attempts;
            var waited = TimeSpan.Zero;
            while (attempts == before)
            {
                time.Advance(TimeSpan.FromSeconds(1));
                waited += TimeSpan.FromSeconds(1);
                await ToolsAsync(provider);
            }

            waits.Add(waited);
        }

        waits.Select(w => w.TotalSeconds).Should().Equal(1, 2, 4, 8, 16, 32, 60, 60, 60);
        McpServerConnection.RetryDelay(int.MaxValue).Should().Be(McpServerConnection.MaxRetryDelay);
    }

    [Test]
    public async Task GetToolsAsync_RequestsDuringTheBackOff_OneContentFreeWarningPerFailure()
    {
        var time = new FakeTimeProvider();
        var logs = new CapturingLoggerFactory();
        var transports = new TestTransportFactory().Map("down", () => new FailingTransport("refused: token sk-in-the-message"));
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("down", Unused), transports,
            services => services.AddSingleton<TimeProvider>(time).AddSingleton<ILoggerFactory>(logs));

        for (int i = 0; i < 5; i++)
        {
            await ToolsAsync(provider);
        }

        time.Advance(McpServerConnection.FirstRetryDelay);
        for (int i = 0; i < 5; i++)
        {
            await ToolsAsync(provider);
        }

        var warnings = logs.Entries.Where(e => e.Level >= LogLevel.Warning).ToArray();
        warnings.Should().HaveCount(2, "two attempts failed; the requests in between made none").And
            .OnlyContain(e => e.Message.Contains("down", StringComparison.Ordinal) && e.Exception == null);
        warnings.Select(e => e.Message).Should().Contain(m => m.Contains("for 1 s", StringComparison.Ordinal)).And
            .Contain(m => m.Contains("for 2 s", StringComparison.Ordinal));
        logs.Entries.Where(e => e.Level > LogLevel.Debug).Should().NotContain(e => e.FullText.Contains("sk-in-the-message", StringComparison.Ordinal));
        provider.GetRequiredService<IMcpServers>().GetStatus().Single().Error.Should().Contain("sk-in-the-message", "the status keeps the whole reason");
    }

    [Test]
    public async Task ConnectAsync_DuringTheBackOff_TriesAtOnce()
    {
        var time = new FakeTimeProvider();
        await using var server = new InProcessMcpServer().AddTextTool("echo", "hi");
        int attempts = 0;
        var transports = new TestTransportFactory().Map("srv", () => ++attempts == 1 ? new FailingTransport("not yet") : server.CreateTransport());
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("srv", Unused), transports,
            services => services.AddSingleton<TimeProvider>(time));
        await ToolsAsync(provider);

        var states = await provider.GetRequiredService<IMcpServers>().ConnectAsync();

        states.Single().Status.Should().Be(McpServerStatus.Connected);
        attempts.Should().Be(2);
    }

    [Test]
    public async Task GetToolsAsync_ConnectionDropped_ReportedThenReconnected()
    {
        await using var server = new InProcessMcpServer().AddTextTool("echo", "hi");
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("srv", Unused), new TestTransportFactory().Map("srv", server));
        await ToolsAsync(provider);
        var dropped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        provider.GetRequiredService<McpToolSource>().Servers.Single().Disconnected += _ => dropped.TrySetResult();

        await server.DropLatestConnectionAsync();
        await dropped.Task.WaitAsync(Safety);
        var status = provider.GetRequiredService<IMcpServers>().GetStatus().Single();
        var tools = await ToolsAsync(provider);

        status.Status.Should().Be(McpServerStatus.Failed);
        status.Error.Should().Contain("closed");
        tools.Select(t => t.Name).Should().Equal("srv_echo");
        server.ConnectionCount.Should().Be(2);
    }

    [Test]
    public async Task GetToolsAsync_ServerNeverAnswers_FailsAfterConnectTimeout()
    {
        var time = new FakeTimeProvider();
        var timeout = TimeSpan.FromSeconds(30);
        var silentInput = new Pipe();
        var silentOutput = new Pipe();
        var transports = new TestTransportFactory().Map("mute", () =>
            new StreamClientTransport(silentInput.Writer.AsStream(), silentOutput.Reader.AsStream(), loggerFactory: null));
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("mute", new McpServerConfig { Command = "in-process", ConnectTimeout = timeout }),
            transports, services => services.AddSingleton<TimeProvider>(time));

        var pending = ToolsAsync(provider);
        var during = provider.GetRequiredService<IMcpServers>().GetStatus().Single().Status;
        time.Advance(timeout);
        var tools = await pending.WaitAsync(Safety);

        during.Should().Be(McpServerStatus.Connecting);
        tools.Should().BeEmpty();
        var status = provider.GetRequiredService<IMcpServers>().GetStatus().Single();
        status.Status.Should().Be(McpServerStatus.Failed);
        status.Error.Should().Contain("within 30 s");
    }

    [Test]
    public async Task GetToolsAsync_TransportSlowToShutDown_AnsweredAtTheTimeoutWhileTheShutdownGoesOn()
    {
        var time = new FakeTimeProvider();
        var timeout = TimeSpan.FromSeconds(2);
        var hanging = new HangingTransport();
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("mute", new McpServerConfig { Command = "in-process", ConnectTimeout = timeout }),
            new TestTransportFactory().Map("mute", () => hanging), services => services.AddSingleton<TimeProvider>(time));

        var pending = ToolsAsync(provider);
        await hanging.Connected.Task.WaitAsync(Safety);
        time.Advance(timeout);
        var tools = await pending.WaitAsync(Safety);
        bool shutdownStarted = await hanging.ShutdownStarted.Task.WaitAsync(Safety).ContinueWith(t => t.IsCompletedSuccessfully);
        var status = provider.GetRequiredService<IMcpServers>().GetStatus().Single();
        hanging.ReleaseShutdown();

        tools.Should().BeEmpty("the request is answered at the timeout, while the transport is still shutting down");
        shutdownStarted.Should().BeTrue();
        status.Status.Should().Be(McpServerStatus.Failed);
        status.Error.Should().Contain("within 2 s");
    }

    [Test]
    public async Task GetToolsAsync_DisabledServer_NeverStartedAndReported()
    {
        await using var server = new InProcessMcpServer().AddTextTool("echo", "hi");
        var transports = new TestTransportFactory().Map("off", server);
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("off", new McpServerConfig { Enabled = false }), transports);

        var tools = await ToolsAsync(provider);

        tools.Should().BeEmpty();
        transports.CreatedCount.Should().Be(0);
        provider.GetRequiredService<IMcpServers>().GetStatus().Should().Equal(new McpServerState("off", McpServerStatus.Disabled, null, 0));
    }

    [Test]
    public async Task ConnectAsync_TwoServers_ConnectsBothAndReturnsTheirStates()
    {
        await using var one = new InProcessMcpServer().AddTextTool("a", "1");
        var transports = new TestTransportFactory().Map("one", one).Map("two", () => new FailingTransport("down"));
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("one", Unused).AddMcpServer("two", Unused), transports);

        var states = await provider.GetRequiredService<IMcpServers>().ConnectAsync();

        states.Select(s => (s.Name, s.Status)).Should().Equal(("one", McpServerStatus.Connected), ("two", McpServerStatus.Failed));
        one.ConnectionCount.Should().Be(1);
    }

    [Test]
    public async Task GetToolsAsync_LocalToolWithAnMcpToolsName_LocalToolWins()
    {
        await using var server = new InProcessMcpServer().AddTextTool("echo", "from mcp");
        await using var provider = McpTestHost.Build(b => b
            .AddTool(AIFunctionFactory.Create(() => "from local", "srv_echo"))
            .AddMcpServer("srv", Unused), new TestTransportFactory().Map("srv", server));

        var tools = await ToolsAsync(provider);

        var tool = tools.Should().ContainSingle().Subject;
        tool.Should().NotBeOfType<McpToolFunction>();
        JsonSerializer.Serialize(await tool.InvokeAsync(new AIFunctionArguments())).Should().Contain("from local");
    }

    [Test]
    public async Task GetToolsAsync_ServerRequiresApproval_ItsToolsRequireApprovalAndStayMcpTools()
    {
        await using var guarded = new InProcessMcpServer().AddTextTool("delete", "gone");
        await using var open = new InProcessMcpServer().AddTextTool("read", "text");
        await using var provider = McpTestHost.Build(b => b
            .AddMcpServer("guarded", new McpServerConfig { Command = "in-process", RequireApproval = true })
            .AddMcpServer("open", Unused), new TestTransportFactory().Map("guarded", guarded).Map("open", open));

        var tools = (await ToolsAsync(provider)).ToDictionary(t => t.Name);

        tools.Keys.Should().BeEquivalentTo("guarded_delete", "open_read");
        tools["guarded_delete"].Should().BeOfType<ApprovalRequiredAIFunction>();
        tools["guarded_delete"].GetService<McpToolFunction>().Should().NotBeNull();
        tools["open_read"].Should().BeOfType<McpToolFunction>();
        tools["open_read"].GetService<ApprovalRequiredAIFunction>().Should().BeNull();
    }

    [Test]
    public async Task GetToolsAsync_OptionsBoundServer_ServedWithoutAddMcpServer()
    {
        await using var server = new InProcessMcpServer().AddTextTool("echo", "hi");
        await using var provider = McpTestHost.Build(_ => { }, new TestTransportFactory().Map("bound", server),
            options: o => o.McpServers["bound"] = Unused);

        var tools = await ToolsAsync(provider);

        tools.Select(t => t.Name).Should().Equal("bound_echo");
    }

    [Test]
    public async Task DisposeAsync_AfterAConnectionAndAFailure_EveryTransportDisposed()
    {
        await using var server = new InProcessMcpServer().AddTextTool("echo", "hi");
        var working = new DisposableTransport(server.CreateTransport());
        var failing = new DisposableTransport(new FailingTransport("down"));
        var provider = McpTestHost.Build(b => b.AddMcpServer("up", Unused).AddMcpServer("down", Unused),
            new TestTransportFactory().Map("up", () => working).Map("down", () => failing));
        await provider.GetRequiredService<IMcpServers>().ConnectAsync();

        await failing.Disposed.Task.WaitAsync(Safety);
        bool workingDisposedEarly = working.Disposed.Task.IsCompleted;
        await provider.DisposeAsync();
        await working.Disposed.Task.WaitAsync(Safety);

        workingDisposedEarly.Should().BeFalse("a live connection keeps its transport");
    }
}
