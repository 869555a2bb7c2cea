// Shared source: linked into the projects that need a throwaway PostgreSQL server (<Compile Include="../Shared/TemporaryPostgres.cs" Link=... />).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace AgentCore.TestInfrastructure;

/// <summary>
/// A throwaway PostgreSQL cluster: <c>initdb</c> into a temporary folder, <c>pg_ctl start</c> on a free port on
/// 127.0.0.1 with the Unix socket in that folder, tuned for speed over durability (fsync and full-page writes off);
/// <see cref="DisposeAsync"/> stops it and deletes the folder. As root, the server runs as the <c>postgres</c> user,
/// which owns the folder (PostgreSQL refuses to run as root).
/// </summary>
/// <remarks>
/// The installation is found in <c>$AGENTCORE_PG_BIN</c>, else the newest <c>/usr/lib/postgresql/*/bin</c> (Debian keeps
/// <c>initdb</c> and <c>pg_ctl</c> off the PATH), else the PATH. Nothing depends on a server already running.
/// </remarks>
internal sealed class TemporaryPostgres : IAsyncDisposable
{
    private readonly string _binDirectory;
    private readonly string _root;
    private int _stopped;

    private TemporaryPostgres(string binDirectory, string root, string adminConnectionString)
    {
        _binDirectory = binDirectory;
        _root = root;
        AdminConnectionString = adminConnectionString;
    }

    /// <summary>Why no server can be started here (PostgreSQL is not installed), or null when one can.</summary>
    public static string? NotInstalledReason => FindBinDirectory() is null
        ? "PostgreSQL is not installed: no initdb in $AGENTCORE_PG_BIN, /usr/lib/postgresql/*/bin or on the PATH. Install it (Debian: apt-get install postgresql)."
        : null;

    /// <summary>The connection string of the server's <c>postgres</c> database, as the superuser <c>postgres</c>.</summary>
    public string AdminConnectionString { get; }

    /// <summary>Creates, starts and returns a cluster; null when PostgreSQL is not installed (see <see cref="NotInstalledReason"/>).</summary>
    /// <exception cref="InvalidOperationException">A PostgreSQL tool failed; the message holds its output.</exception>
    public static async Task<TemporaryPostgres?> StartAsync(int maxConnections = 300)
    {
        if (FindBinDirectory() is not { } bin)
        {
            return null;
        }

        string root = Path.Combine(Path.GetTempPath(), "agentcore-pg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        string data = Path.Combine(root, "data");
        try
        {
            if (Environment.IsPrivilegedProcess)
            {
                await RunAsync("chown", ["-R", "postgres:postgres", root]);
            }

            await RunServerToolAsync(bin, "initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
            for (int attempt = 1; ; attempt++)
            {
                int port = FreePort();
                try
                {
                    await RunServerToolAsync(bin, "pg_ctl",
                    [
                        "-D", data, "-l", Path.Combine(root, "server.log"), "-w", "-t", "120", "start",
                        "-o", $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -F -c full_page_writes=off -c synchronous_commit=off -c max_connections={maxConnections}",
                    ]);
                    string admin = new NpgsqlConnectionStringBuilder
                    {
                        Host = "127.0.0.1",
                        Port = port,
                        Username = "postgres",
                        Database = "postgres",
                        IncludeErrorDetail = true,
                    }.ToString();
                    return new TemporaryPostgres(bin, root, admin);
                }
                catch (InvalidOperationException) when (attempt < 3)
                {
                    // Most likely the port was taken between choosing and binding it: choose another.
                }
            }
        }
        catch
        {
            await StopAsync(bin, root);
            throw;
        }
    }

    /// <summary>Creates a new, empty UTF-8 database and returns its connection string.</summary>
    public string CreateDatabase()
    {
        string name = "t_" + Guid.NewGuid().ToString("N");
        using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'", connection);
            command.ExecuteNonQuery();
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ToString();
    }

    /// <summary>Stops the server (immediate shutdown) and deletes its folder. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await StopAsync(_binDirectory, _root);
    }

    private static async Task StopAsync(string bin, string root)
    {
        try
        {
            string data = Path.Combine(root, "data");
            if (File.Exists(Path.Combine(data, "postmaster.pid")))
            {
                await RunServerToolAsync(bin, "pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
            }
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    private static string? FindBinDirectory()
    {
        if (Environment.GetEnvironmentVariable("AGENTCORE_PG_BIN") is { Length: > 0 } configured && File.Exists(Path.Combine(configured, "initdb")))
        {
            return configured;
        }

        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            var newest = Directory.EnumerateDirectories(debianRoot)
                .Select(static dir => (Dir: dir, Version: double.TryParse(Path.GetFileName(dir), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : 0))
                .Where(static x => File.Exists(Path.Combine(x.Dir, "bin", "initdb")))
                .OrderByDescending(static x => x.Version)
                .FirstOrDefault();
            if (newest.Dir is not null)
            {
                return Path.Combine(newest.Dir, "bin");
            }
        }

        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
            {
                return dir;
            }
        }

        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs a PostgreSQL tool, as the postgres user when this process is root.</summary>
    private static Task RunServerToolAsync(string bin, string tool, IReadOnlyList<string> arguments)
    {
        string path = Path.Combine(bin, tool);
        return Environment.IsPrivilegedProcess
            ? RunAsync("runuser", ["-u", "postgres", "--", path, .. arguments])
            : RunAsync(path, arguments);
    }

    private static async Task RunAsync(string fileName, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{fileName} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}\n{await error}");
        }
    }
}
