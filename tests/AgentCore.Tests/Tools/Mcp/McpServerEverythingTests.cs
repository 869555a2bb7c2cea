using AgentCore.Tests.Fakes;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace AgentCore.Tests.Tools.Mcp;

/// <summary>
/// Against the real <c>@modelcontextprotocol/server-everything</c> (pinned in tests/mcp-servers/package.json),
/// through the tool registry exactly as a turn gets its tools.
/// </summary>
public sealed class McpServerEverythingTests
{
    private const string SecretName = "AGENTCORE_TEST_SECRET";
    private const string SecretValue = "sk-app-secret-5151";

    private static async Task<IReadOnlyList<AIFunction>> ToolsAsync(IServiceProvider provider) =>
        await provider.GetRequiredService<IToolRegistry>().GetToolsAsync(McpTestHost.Context);

    private static async Task<string> CallForTextAsync(IReadOnlyList<AIFunction> tools, string name, AIFunctionArguments arguments)
    {
        var result = await tools.Single(t => t.Name == name).InvokeAsync(arguments);
        var contents = result.Should().BeAssignableTo<IList<AIContent>>().Subject;
        return string.Concat(contents.OfType<TextContent>().Select(t => t.Text));
    }

    [Test]
    public async Task GetToolsAsync_ServerEverything_ListsItsToolsWithPrefixedNames()
    {
        await using var provider = McpTestHost.Build(b => b.AddServerEverything());

        var tools = await ToolsAsync(provider);

        tools.Select(t => t.Name).Should().Contain(["everything_echo", "everything_get-sum", "everything_get-env", "everything_get-tiny-image"]);
        tools.Should().OnlyContain(t => ToolNames.Valid().IsMatch(t.Name));
        tools.Single(t => t.Name == "everything_echo").JsonSchema.GetProperty("properties").TryGetProperty("message", out _).Should().BeTrue();
        provider.GetRequiredService<IMcpServers>().GetStatus().Single()
            .Should().Be(new McpServerState("everything", McpServerStatus.Connected, null, tools.Count));
    }

    [Test]
    public async Task InvokeAsync_Echo_ReturnsTheMessage()
    {
        await using var provider = McpTestHost.Build(b => b.AddServerEverything());
        var tools = await ToolsAsync(provider);

        string text = await CallForTextAsync(tools, "everything_echo", new AIFunctionArguments { ["message"] = "hello from AgentCore" });

        text.Should().Contain("hello from AgentCore");
    }

    [Test]
    public async Task InvokeAsync_GetSum_ReturnsTheSum()
    {
        await using var provider = McpTestHost.Build(b => b.AddServerEverything());
        var tools = await ToolsAsync(provider);

        string text = await CallForTextAsync(tools, "everything_get-sum", new AIFunctionArguments { ["a"] = 19, ["b"] = 23 });

        text.Should().Contain("42");
    }

    [Test]
    public async Task InvokeAsync_GetTinyImage_ImageAsDataContent()
    {
        await using var provider = McpTestHost.Build(b => b.AddServerEverything());
        var tools = await ToolsAsync(provider);

        var result = await tools.Single(t => t.Name == "everything_get-tiny-image").InvokeAsync(new AIFunctionArguments());

        var image = result.Should().BeAssignableTo<IList<AIContent>>().Which.OfType<DataContent>().Should().ContainSingle().Subject;
        image.MediaType.Should().Be("image/png");
        image.Data.Span[..4].ToArray().Should().Equal(0x89, (byte)'P', (byte)'N', (byte)'G');
    }

    [Test]
    public async Task InvokeAsync_GetEnv_AppSecretHiddenConfiguredVariableGiven()
    {
        using var secret = new EnvironmentVariable(SecretName, SecretValue);
        var config = McpTestServers.ServerEverything();
        config.Environment["SERVER_TOKEN"] = "given-to-the-server";
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("everything", config));
        var tools = await ToolsAsync(provider);

        string text = await CallForTextAsync(tools, "everything_get-env", new AIFunctionArguments());

        var environment = JsonDocument.Parse(text).RootElement;
        environment.TryGetProperty(SecretName, out _).Should().BeFalse();
        environment.GetProperty("SERVER_TOKEN").GetString().Should().Be("given-to-the-server");
        environment.EnumerateObject().Select(p => p.Name).Except(["SERVER_TOKEN"])
            .Should().BeSubsetOf(McpEnvironment.BaselineNames);
    }

    [Test]
    public async Task GetToolsAsync_FailingServerBesideAWorkingOne_WorkingServesFailingReported()
    {
        await using var provider = McpTestHost.Build(b => b
            .AddTool(AIFunctionFactory.Create(() => "pong", "ping"))
            .AddMcpServer("broken", new McpServerConfig { Command = "agentcore-no-such-mcp-server-command" })
            .AddServerEverything());

        var tools = await ToolsAsync(provider);

        tools.Select(t => t.Name).Should().Contain(["ping", "everything_echo"]).And.NotContain(n => n.StartsWith("broken_", StringComparison.Ordinal));
        var status = provider.GetRequiredService<IMcpServers>().GetStatus();
        status.Single(s => s.Name == "broken").Status.Should().Be(McpServerStatus.Failed);
        status.Single(s => s.Name == "broken").Error.Should().Contain("agentcore-no-such-mcp-server-command");
        status.Single(s => s.Name == "everything").Status.Should().Be(McpServerStatus.Connected);
        string echoed = await CallForTextAsync(tools, "everything_echo", new AIFunctionArguments { ["message"] = "still here" });
        echoed.Should().Contain("still here");
    }

    [Test]
    public async Task DisposeAsync_ServiceProvider_NoServerProcessLeft()
    {
        McpTestServers.RequireProc();
        string marker = McpTestServers.NewMarker();
        var provider = McpTestHost.Build(b => b.AddServerEverything("one", marker + "-1").AddServerEverything("two", marker + "-2"));
        await provider.GetRequiredService<IMcpServers>().ConnectAsync();
        var running = McpTestServers.FindProcesses(marker);

        await provider.DisposeAsync();

        running.Should().HaveCount(2, "both servers were running before the provider was disposed");
        (await McpTestServers.StillAliveAsync(running)).Should().BeEmpty();
        McpTestServers.FindProcesses(marker).Should().BeEmpty();
    }

    [Test]
    public async Task Dispose_ServiceProviderDisposedSynchronously_NoServerProcessLeft()
    {
        McpTestServers.RequireProc();
        string marker = McpTestServers.NewMarker();
        var provider = McpTestHost.Build(b => b.AddServerEverything(marker: marker));
        await ToolsAsync(provider);
        var running = McpTestServers.FindProcesses(marker);

        provider.Dispose();

        running.Should().ContainSingle();
        (await McpTestServers.StillAliveAsync(running)).Should().BeEmpty();
    }

    [Test]
    public async Task GetToolsAsync_StreamableHttpServer_ToolsCallableAndHeadersNeverLogged()
    {
        string node = McpTestServers.RequireServerEverything();
        const string token = "Bearer http-secret-9393";
        int port = FreePort();
        using var server = StartHttpServer(node, port);
        await WaitForListeningAsync(server.Process);
        var logs = new CapturingLoggerFactory();
        var config = new McpServerConfig { Endpoint = new Uri($"http://127.0.0.1:{port}/mcp") };
        config.Headers["Authorization"] = token;

        IReadOnlyList<AIFunction> tools;
        string echoed;
        await using (var provider = McpTestHost.Build(b => b.AddMcpServer("remote", config), services: s => s.AddSingleton<ILoggerFactory>(logs)))
        {
            tools = await ToolsAsync(provider);
            echoed = await CallForTextAsync(tools, "remote_echo", new AIFunctionArguments { ["message"] = "over http" });
            provider.GetRequiredService<IMcpServers>().GetStatus().Single().Status.Should().Be(McpServerStatus.Connected);
        }

        tools.Select(t => t.Name).Should().Contain("remote_get-sum");
        echoed.Should().Contain("over http");
        logs.AllText.Should().NotContain("http-secret-9393");
    }

    [Test]
    public async Task McpChatTurnScript_ToolCallsOfTheFirstStep_RunAgainstTheRealServer()
    {
        var client = McpChatTurn.EchoAndSumScript(message: "hi there", a: 20, b: 22);
        await using var provider = McpChatTurn.Build(client);
        var tools = await ToolsAsync(provider);

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Use the tools.")], new ChatOptions { Tools = [.. tools] });
        var outputs = new Dictionary<string, string>();
        foreach (var call in response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>())
        {
            outputs[call.CallId] = await CallForTextAsync(tools, call.Name, new AIFunctionArguments(call.Arguments));
        }

        outputs.Keys.Should().BeEquivalentTo("call_echo", "call_sum");
        outputs["call_echo"].Should().Contain("hi there");
        outputs["call_sum"].Should().Contain("42");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static ChildProcess StartHttpServer(string node, int port)
    {
        var start = new ProcessStartInfo(node)
        {
            ArgumentList = { McpTestServers.ServerEverythingEntry, "streamableHttp" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            Environment = { ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        };
        return new ChildProcess(Process.Start(start)!);
    }

    /// <summary>Waits for the server's "listening" line on stderr (a signal, not a sleep).</summary>
    private static async Task WaitForListeningAsync(Process server)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _ = server.StandardOutput.ReadToEndAsync(timeout.Token);
        while (await server.StandardError.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.Contains("listening", StringComparison.OrdinalIgnoreCase))
            {
                return;
            }
        }

        Assert.Fail("The HTTP server exited before it listened.");
    }

    /// <summary>A process the test started: killed with its children when the test's <c>using</c> ends.</summary>
    private sealed class ChildProcess(Process process) : IDisposable
    {
        public Process Process { get; } = process;

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit();
            }

            Process.Dispose();
        }
    }
}
