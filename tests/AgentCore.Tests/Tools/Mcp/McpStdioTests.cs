using AgentCore.Tests.Fakes;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace AgentCore.Tests.Tools.Mcp;

/// <summary>
/// Real child processes over the SDK's stdio transport, without Node.js: what environment a server gets, how a
/// server that cannot start is reported, and that a server that hangs is killed with its children.
/// </summary>
public sealed class McpStdioTests
{
    private const string SecretName = "AGENTCORE_TEST_SECRET";
    private const string SecretValue = "sk-app-secret-4242";
    private const string ConfiguredValue = "server-token-1717";

    private static readonly TimeSpan Safety = TimeSpan.FromSeconds(60);

    private string _temp = null!;

    [SetUp]
    public void SetUp()
    {
        McpTestServers.RequireProc();
        _temp = Path.Combine(Path.GetTempPath(), "agentcore-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_temp);
    }

    [TearDown]
    public void TearDown()
    {
        if (_temp is not null && Directory.Exists(_temp))
        {
            Directory.Delete(_temp, recursive: true);
        }
    }

    [Test]
    public async Task Connect_DefaultEnvironment_AppSecretHiddenConfiguredVariableGiven()
    {
        var (environment, logs) = await CaptureServerEnvironmentAsync(inherit: false);

        environment.Should().NotContainKey(SecretName);
        environment.Should().ContainKey("SERVER_TOKEN").WhoseValue.Should().Be(ConfiguredValue);
        environment.Should().ContainKey("PATH");
        environment.Keys.Except(["SERVER_TOKEN", "PWD", "SHLVL", "_", "OLDPWD"])
            .Should().BeSubsetOf(McpEnvironment.BaselineNames, "nothing but the baseline and the configured variables reaches the server");
        logs.Should().NotContain(SecretValue).And.NotContain(ConfiguredValue);
    }

    [Test]
    public async Task Connect_InheritEnvironment_AppSecretVisible()
    {
        var (environment, logs) = await CaptureServerEnvironmentAsync(inherit: true);

        environment.Should().ContainKey(SecretName).WhoseValue.Should().Be(SecretValue);
        environment.Should().ContainKey("SERVER_TOKEN").WhoseValue.Should().Be(ConfiguredValue);
        logs.Should().NotContain(SecretValue).And.NotContain(ConfiguredValue);
    }

    [Test]
    public async Task Connect_NonexistentCommand_FailedWithTheReason()
    {
        string command = Path.Combine(_temp, "no-such-mcp-server");
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("ghost", new McpServerConfig { Command = command }));

        var states = await provider.GetRequiredService<IMcpServers>().ConnectAsync();

        var state = states.Single();
        state.Status.Should().Be(McpServerStatus.Failed);
        state.Error.Should().Contain("no-such-mcp-server");
        state.ToolCount.Should().Be(0);
    }

    [Test]
    public async Task Connect_ServerCrashesOnTheFirstMessage_FailedWithExitCodeAndStderr()
    {
        var config = new McpServerConfig { Command = "sh", Arguments = ["-c", "read line; echo 'cannot find module x' >&2; exit 3"] };
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("crash", config));

        var state = (await provider.GetRequiredService<IMcpServers>().ConnectAsync()).Single();

        state.Status.Should().Be(McpServerStatus.Failed);
        state.Error.Should().Contain("Exit code 3").And.Contain("cannot find module x");
    }

    [Test]
    public async Task Connect_ServerThatNeverAnswers_KilledWithItsChildrenAfterTheTimeout()
    {
        string pids = Path.Combine(_temp, "pids");
        var config = new McpServerConfig
        {
            Command = "sh",
            Arguments = ["-c", "sleep 600 & echo $! > \"$0\"; echo $$ >> \"$0\"; wait", pids],
            ConnectTimeout = TimeSpan.FromSeconds(2),
        };
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("mute", config));

        var state = (await provider.GetRequiredService<IMcpServers>().ConnectAsync()).Single();

        state.Status.Should().Be(McpServerStatus.Failed);
        state.Error.Should().Contain("within 2 s");
        var started = File.ReadAllLines(pids).Select(int.Parse).ToArray();
        started.Should().HaveCount(2, "the shell wrote its own id and its child's");
        (await McpTestServers.StillAliveAsync(started)).Should().BeEmpty("the timed-out server and its child are killed");
    }

    [Test]
    public async Task GetToolsAsync_ServerHangsAtStart_AnsweredAtTheTimeoutThenLeftOutUntilTheBackOffEnds()
    {
        var time = new FakeTimeProvider();
        var logs = new CapturingLoggerFactory();
        string marker = McpTestServers.NewMarker();
        int started = 0;
        var firstStart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondStart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        logs.Logged += entry =>
        {
            // The server's one line on stderr: its process runs and will never answer the handshake.
            if (entry.Message.Contains(marker, StringComparison.Ordinal))
            {
                (Interlocked.Increment(ref started) == 1 ? firstStart : secondStart).TrySetResult();
            }
        };
        var config = new McpServerConfig
        {
            Command = "sh",
            Arguments = ["-c", "echo \"started $0\" >&2; exec sleep 600", marker],
            ConnectTimeout = TimeSpan.FromSeconds(2),
        };
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("mute", config),
            services: s => s.AddSingleton<TimeProvider>(time).AddSingleton<ILoggerFactory>(logs));
        var registry = provider.GetRequiredService<IToolRegistry>();
        var servers = provider.GetRequiredService<IMcpServers>();

        var first = registry.GetToolsAsync(McpTestHost.Context).AsTask();
        await firstStart.Task.WaitAsync(Safety);
        time.Advance(config.ConnectTimeout);
        var firstTools = await first.WaitAsync(Safety);
        var afterFirst = servers.GetStatus().Single();

        // The clock stands still: a request that waited for the server would never be answered.
        var inBackOff = await registry.GetToolsAsync(McpTestHost.Context).AsTask().WaitAsync(Safety);
        int startsInBackOff = Volatile.Read(ref started);

        time.Advance(McpServerConnection.FirstRetryDelay);
        var second = registry.GetToolsAsync(McpTestHost.Context).AsTask();
        await secondStart.Task.WaitAsync(Safety);
        var duringSecond = servers.GetStatus().Single().Status;
        time.Advance(config.ConnectTimeout);
        var secondTools = await second.WaitAsync(Safety);
        time.Advance(McpServerConnection.FirstRetryDelay);
        var stillInBackOff = await registry.GetToolsAsync(McpTestHost.Context).AsTask().WaitAsync(Safety);

        firstTools.Should().BeEmpty();
        afterFirst.Status.Should().Be(McpServerStatus.Failed);
        afterFirst.Error.Should().Contain("within 2 s");
        inBackOff.Should().BeEmpty();
        startsInBackOff.Should().Be(1, "no process is started while the server backs off");
        duringSecond.Should().Be(McpServerStatus.Connecting);
        secondTools.Should().BeEmpty();
        stillInBackOff.Should().BeEmpty();
        Volatile.Read(ref started).Should().Be(2, "the second failure doubled the back-off to 2 s");
        logs.Entries.Where(e => e.Level == LogLevel.Warning && e.Category.StartsWith("AgentCore", StringComparison.Ordinal))
            .Should().HaveCount(2, "one warning per failed attempt");
    }

    [Test]
    public async Task ConnectAsync_ServerPrintsItsTokenToStderr_TokenLoggedAtDebugAtMost()
    {
        const string Token = "mcp-server-token-90210";
        var logs = new CapturingLoggerFactory();
        var config = new McpServerConfig
        {
            // Reads the handshake, prints its token (as some servers do on start) and dies.
            Command = "sh",
            Arguments = ["-c", "read line; echo \"using token $0\" >&2; exit 3", Token],
        };
        await using (var provider = McpTestHost.Build(b => b.AddMcpServer("chatty", config),
            services: s => s.AddSingleton<ILoggerFactory>(logs)))
        {
            var state = (await provider.GetRequiredService<IMcpServers>().ConnectAsync()).Single();
            state.Status.Should().Be(McpServerStatus.Failed);
        }

        logs.Entries.Should().Contain(e => e.Level == LogLevel.Debug && e.FullText.Contains(Token, StringComparison.Ordinal),
            "the server's stderr is there for whoever turns Debug on");
        logs.Entries.Where(e => e.Level > LogLevel.Debug).Should().NotContain(e => e.FullText.Contains(Token, StringComparison.Ordinal));
        logs.Entries.Should().Contain(e => e.Level == LogLevel.Warning && e.Message.Contains("chatty", StringComparison.Ordinal)
            && e.Message.Contains("exited with code 3", StringComparison.Ordinal), "the failure is reported without the server's output");
    }

    private async Task<(Dictionary<string, string> Environment, string Logs)> CaptureServerEnvironmentAsync(bool inherit)
    {
        string output = Path.Combine(_temp, "env.txt");
        var logs = new CapturingLoggerFactory();
        using var secret = new EnvironmentVariable(SecretName, SecretValue);
        var config = new McpServerConfig
        {
            // Not an MCP server: it writes its environment and exits, so the connection fails right after.
            Command = "sh",
            Arguments = ["-c", "env > \"$0\"", output],
            InheritEnvironment = inherit,
            Environment = { ["SERVER_TOKEN"] = ConfiguredValue },
        };
        await using (var provider = McpTestHost.Build(b => b.AddMcpServer("envdump", config),
            services: s => s.AddSingleton<ILoggerFactory>(logs)))
        {
            var state = (await provider.GetRequiredService<IMcpServers>().ConnectAsync()).Single();
            state.Status.Should().Be(McpServerStatus.Failed, "the script is not an MCP server");
        }

        var environment = File.ReadAllLines(output)
            .Select(line => line.Split('=', 2))
            .Where(parts => parts.Length == 2)
            .GroupBy(parts => parts[0])
            .ToDictionary(g => g.Key, g => g.Last()[1]);
        logs.Entries.Should().NotBeEmpty("the attempt is logged");
        return (environment, logs.AllText);
    }
}
