using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace AgentCore.Tests.Tools.Mcp;

/// <summary>
/// The real MCP servers the integration tests start, installed by <c>npm ci --prefix tests/mcp-servers</c>
/// (scripts/test.sh runs it), and what tests need around them: the repository root, Node.js, and processes by id.
/// </summary>
/// <example>
/// A full chat turn against the real server:
/// <code>
/// McpTestServers.RequireServerEverything();
/// var services = new ServiceCollection();
/// services.AddAgentCore(o => o.DataDirectory = temp)
///     .AddChatClient("test", chatClient, models)
///     .AddServerEverything();                       // tools everything_echo, everything_get-sum, ...
/// await using var provider = services.BuildServiceProvider();
/// </code>
/// </example>
internal static class McpTestServers
{
    /// <summary>The version pinned in tests/mcp-servers/package.json.</summary>
    public const string ServerEverythingPackage = "@modelcontextprotocol/server-everything";

    private static readonly Lazy<string> Root = new(FindRepoRoot);

    /// <summary>The repository root: the folder holding AgentCore.sln above the test assembly.</summary>
    public static string RepoRoot => Root.Value;

    /// <summary>The entry script of the installed server-everything.</summary>
    public static string ServerEverythingEntry =>
        Path.Combine(RepoRoot, "tests", "mcp-servers", "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");

    /// <summary>The full path of <c>node</c> on the PATH, or null.</summary>
    public static string? FindNode()
    {
        string[] names = OperatingSystem.IsWindows() ? ["node.exe"] : ["node"];
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (string name in names)
            {
                string candidate = Path.Combine(dir, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// The node executable, once sure the server is installed. Skips the test when Node.js is absent. When Node.js is
    /// there but the packages are not installed, skips with the command to run — except under CI (<c>CI</c> set), where
    /// the set-up step must have run and the test fails instead of hiding a broken set-up.
    /// </summary>
    public static string RequireServerEverything()
    {
        string? node = FindNode();
        if (node is null)
        {
            Assert.Ignore("Node.js is not installed (no 'node' on the PATH): the tests against the real MCP server need it.");
        }

        if (!File.Exists(ServerEverythingEntry))
        {
            string message = $"{ServerEverythingPackage} is not installed: run 'npm ci --prefix tests/mcp-servers' (scripts/test.sh does) and test again.";
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
            {
                Assert.Fail(message);
            }

            Assert.Ignore(message);
        }

        return node!;
    }

    /// <summary>
    /// The configuration of server-everything over stdio. <paramref name="marker"/> is an extra argument the server
    /// ignores: it makes the process findable by its command line (<see cref="FindProcesses"/>).
    /// </summary>
    public static McpServerConfig ServerEverything(string? marker = null)
    {
        string node = RequireServerEverything();
        var config = new McpServerConfig { Command = node, Arguments = [ServerEverythingEntry, "stdio"] };
        if (marker is not null)
        {
            config.Arguments.Add(marker);
        }

        return config;
    }

    /// <summary>Adds server-everything over stdio as <paramref name="name"/>: tools <c>&lt;name&gt;_echo</c>, <c>&lt;name&gt;_get-sum</c>, ...</summary>
    public static IAgentCoreBuilder AddServerEverything(this IAgentCoreBuilder builder, string name = "everything", string? marker = null) =>
        builder.AddMcpServer(name, ServerEverything(marker));

    /// <summary>A unique marker argument for <see cref="ServerEverything"/>.</summary>
    public static string NewMarker() => "--agentcore-test-" + Guid.NewGuid().ToString("N");

    /// <summary>Skips the test where processes cannot be inspected through /proc.</summary>
    public static void RequireProc()
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/proc/self"))
        {
            Assert.Ignore("Checking for leftover processes by id needs Linux's /proc.");
        }
    }

    /// <summary>The ids of live processes whose command line contains <paramref name="marker"/>.</summary>
    public static IReadOnlyList<int> FindProcesses(string marker)
    {
        var found = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                string commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(marker, StringComparison.Ordinal) && IsAlive(pid))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // The process ended while being read.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }

    /// <summary>The ids of the live children of <paramref name="parentPid"/>.</summary>
    public static IReadOnlyList<int> FindChildren(int parentPid)
    {
        var found = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out int pid) && ParentOf(pid) == parentPid && IsAlive(pid))
            {
                found.Add(pid);
            }
        }

        return found;
    }

    /// <summary>Whether <paramref name="pid"/> is a running process (not gone, not a zombie).</summary>
    /// <summary>
    /// The processes of <paramref name="pids"/> still alive once the kernel has had time to finish killing them: a
    /// killed process lingers for a moment before it is gone, and a grandchild cannot be waited on, so this polls
    /// /proc until none is alive or 10 seconds pass. It never waits for a process that is already gone.
    /// </summary>
    public static async Task<IReadOnlyList<int>> StillAliveAsync(IEnumerable<int> pids)
    {
        var watched = pids.ToArray();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var alive = watched.Where(IsAlive).ToArray();
            if (alive.Length == 0 || deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                return alive;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }

    public static bool IsAlive(int pid)
    {
        string? stat = ReadStat(pid);
        if (stat is null)
        {
            return false;
        }

        // "pid (comm) S ppid ...": the state follows the last ')'.
        int close = stat.LastIndexOf(')');
        return close >= 0 && close + 2 < stat.Length && stat[close + 2] is not ('Z' or 'X');
    }

    private static int? ParentOf(int pid)
    {
        string? stat = ReadStat(pid);
        int close = stat?.LastIndexOf(')') ?? -1;
        if (stat is null || close < 0)
        {
            return null;
        }

        string[] fields = stat[(close + 2)..].Split(' ');
        return fields.Length > 1 && int.TryParse(fields[1], out int ppid) ? ppid : null;
    }

    private static string? ReadStat(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AgentCore.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"AgentCore.sln was not found above {AppContext.BaseDirectory}.");
    }
}

/// <summary>Builds service providers for the MCP tests: AgentCore with a temp data directory and, optionally, test transports.</summary>
internal static class McpTestHost
{
    public static ServiceProvider Build(Action<IAgentCoreBuilder> configure, IMcpClientTransportFactory? transports = null,
        Action<IServiceCollection>? services = null, Action<AgentCoreOptions>? options = null)
    {
        var collection = new ServiceCollection();
        if (transports is not null)
        {
            collection.AddSingleton(transports);
        }

        services?.Invoke(collection);
        string data = Path.Combine(Path.GetTempPath(), "agentcore-tests", Guid.NewGuid().ToString("N"));
        collection.AddSingleton(new DeleteOnDispose(data));
        var builder = collection.AddAgentCore(o =>
        {
            o.DataDirectory = data;
            options?.Invoke(o);
        });
        configure(builder);
        var provider = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        provider.GetRequiredService<DeleteOnDispose>();
        return provider;
    }

    public static ToolContext Context { get; } = new("ses_test", "test", "model");

    /// <summary>Deletes the test's data directory when the service provider is disposed (resolved at build so it is tracked).</summary>
    private sealed class DeleteOnDispose(string path) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }
            }
            catch (IOException)
            {
            }
        }
    }
}
