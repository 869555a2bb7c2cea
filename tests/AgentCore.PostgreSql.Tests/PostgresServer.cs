using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary>
/// Starts a throwaway PostgreSQL cluster for the test run (initdb into a temporary folder, pg_ctl start on a free
/// port on 127.0.0.1 with the Unix socket in that folder) and stops and deletes it after. As root, the server runs
/// as the <c>postgres</c> user, which owns the folder. Where PostgreSQL is not installed, the tests are ignored.
/// </summary>
/// <remarks>Set <c>AGENTCORE_PG_BIN</c> to the folder holding <c>initdb</c> and <c>pg_ctl</c> to choose an installation.</remarks>
[SetUpFixture]
public sealed class PostgresServer
{
    private static string? s_adminConnectionString;
    private static string? s_notInstalled;
    private string? _root;
    private string? _binDirectory;

    /// <summary>The connection string of the server's <c>postgres</c> database; ignores the test where PostgreSQL is not installed.</summary>
    public static string AdminConnectionString
    {
        get
        {
            if (s_notInstalled is not null)
            {
                Assert.Ignore(s_notInstalled);
            }

            return s_adminConnectionString ?? throw new InvalidOperationException("The PostgreSQL test server did not start; see the set-up failure.");
        }
    }

    /// <summary>Creates a new, empty database and returns its connection string.</summary>
    public static string CreateDatabase()
    {
        string admin = AdminConnectionString;
        string name = "t_" + Guid.NewGuid().ToString("N");
        using (var connection = new NpgsqlConnection(admin))
        {
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'", connection);
            command.ExecuteNonQuery();
        }

        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ToString();
    }

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _binDirectory = FindBinDirectory();
        if (_binDirectory is null)
        {
            s_notInstalled = "PostgreSQL is not installed: no initdb in $AGENTCORE_PG_BIN, /usr/lib/postgresql/*/bin or on the PATH. Install it (Debian: apt-get install postgresql) to run these tests.";
            return;
        }

        _root = Path.Combine(Path.GetTempPath(), "agentcore-pg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_root);
        try
        {
            if (Environment.IsPrivilegedProcess)
            {
                await RunAsync("chown", ["-R", "postgres:postgres", _root]);
            }

            string data = Path.Combine(_root, "data");
            await RunServerToolAsync("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
            int port = 0;
            for (int attempt = 1; ; attempt++)
            {
                port = FreePort();
                try
                {
                    await RunServerToolAsync("pg_ctl",
                    [
                        "-D", data, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "120", "start",
                        "-o", $"-p {port} -k {_root} -c listen_addresses=127.0.0.1 -F -c full_page_writes=off -c synchronous_commit=off -c max_connections=300",
                    ]);
                    break;
                }
                catch (InvalidOperationException) when (attempt < 3)
                {
                    // Most likely the port was taken between choosing and binding it: choose another.
                }
            }

            s_adminConnectionString = new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1",
                Port = port,
                Username = "postgres",
                Database = "postgres",
                IncludeErrorDetail = true,
            }.ToString();
        }
        catch
        {
            await StopAsync();
            throw;
        }
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_root is null || _binDirectory is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        string data = Path.Combine(_root, "data");
        if (File.Exists(Path.Combine(data, "postmaster.pid")))
        {
            await RunServerToolAsync("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
        }

        Directory.Delete(_root, recursive: true);
        _root = null;
        s_adminConnectionString = null;
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

    /// <summary>Runs a PostgreSQL tool, as the postgres user when this process is root (PostgreSQL refuses to run as root).</summary>
    private Task RunServerToolAsync(string tool, IReadOnlyList<string> arguments)
    {
        string path = Path.Combine(_binDirectory!, tool);
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
