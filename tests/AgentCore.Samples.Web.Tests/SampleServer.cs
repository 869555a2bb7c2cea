using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace AgentCore.Samples.Web.Tests;

/// <summary>
/// Runs the built web sample (<c>dotnet AgentCore.Samples.Web.dll</c>) as a process on a free loopback port, with a
/// temporary data directory and without <c>ANTHROPIC_API_KEY</c> (so the offline demo model answers), and kills it
/// (and deletes the directory) when disposed.
/// </summary>
internal sealed partial class SampleServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private const int HealthAttempts = 50;

    private readonly Process _process;
    private readonly string _dataDirectory;
    private readonly StringBuilder _output = new();
    private readonly List<(string Text, TaskCompletionSource Seen)> _outputWaiters = [];

    private SampleServer(Process process, string dataDirectory)
    {
        _process = process;
        _dataDirectory = dataDirectory;
    }

    /// <summary>The address the sample listens on, like <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>An HTTP client for the sample.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>What the sample wrote to stdout and stderr so far (its log).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts the sample and waits until it answers its health endpoint. Where the sample is not built, the test fails
    /// in CI (the <c>CI</c> environment variable is set) and is ignored elsewhere, saying how to build it.
    /// </summary>
    /// <param name="wordDelay">How long the demo model waits between words (<c>Demo:WordDelayMilliseconds</c>).</param>
    /// <param name="environment">Environment variables to set for the sample, if any.</param>
    public static async Task<SampleServer> StartAsync(TimeSpan wordDelay, IReadOnlyDictionary<string, string>? environment = null)
    {
        string dll = RequireBuiltSample();
        string dataDirectory = Path.Combine(Path.GetTempPath(), "agentcore-web-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dataDirectory,
        };
        foreach (string argument in (string[])
                 [dll, "--urls", "http://127.0.0.1:0", "--AgentCore:DataDirectory", dataDirectory,
                  "--Demo:WordDelayMilliseconds", ((long)wordDelay.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("ANTHROPIC_API_KEY");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        var server = new SampleServer(process, dataDirectory);
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) => server.OnOutput(e.Data, listening);
        process.ErrorDataReceived += (_, e) => server.OnOutput(e.Data, listening);
        try
        {
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var exited = process.WaitForExitAsync();
            var first = await Task.WhenAny(listening.Task, exited).WaitAsync(StartTimeout);
            if (first != listening.Task)
            {
                throw new InvalidOperationException($"The web sample exited with code {process.ExitCode} before listening:\n{server.Output}");
            }

            server.BaseAddress = await listening.Task;
            server.Client = new HttpClient { BaseAddress = server.BaseAddress };
            await server.WaitUntilHealthyAsync();
            return server;
        }
        catch (TimeoutException)
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"The web sample did not say where it listens within {StartTimeout.TotalSeconds} s:\n{server.Output}");
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>The path of the built sample dll (same configuration as these tests), or the test ends saying how to build it.</summary>
    public static string RequireBuiltSample()
    {
        string configuration = typeof(SampleServer).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        string root = RepositoryRoot();
        string dll = Path.Combine(root, "samples", "AgentCore.Samples.Web", "bin", configuration, "net10.0", "AgentCore.Samples.Web.dll");
        if (!File.Exists(dll))
        {
            string message = $"The web sample is not built ({dll} is missing). It consumes the packed AgentCore package and is not in " +
                             "AgentCore.sln: run scripts/test.sh, or ./scripts/pack.sh and then " +
                             $"dotnet build samples/AgentCore.Samples.Web -c {configuration}.";
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
            {
                Assert.Fail(message);
            }

            Assert.Ignore(message);
        }

        return dll;
    }

    /// <summary>The folder holding AgentCore.sln, above the test's output folder.</summary>
    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AgentCore.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No AgentCore.sln above {TestContext.CurrentContext.TestDirectory}.");
    }

    private void OnOutput(string? line, TaskCompletionSource<Uri> listening)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
            foreach (var waiter in _outputWaiters.Where(w => line.Contains(w.Text, StringComparison.Ordinal)).ToList())
            {
                _outputWaiters.Remove(waiter);
                waiter.Seen.TrySetResult();
            }
        }

        // ASP.NET Core's lifetime log: "Now listening on: http://127.0.0.1:41234".
        if (NowListening().Match(line) is { Success: true } match)
        {
            listening.TrySetResult(new Uri(match.Groups[1].Value.TrimEnd('/') + "/"));
        }
    }

    /// <summary>
    /// Waits until the sample writes a line containing <paramref name="text"/> (its console log is written
    /// asynchronously, so a line may follow the HTTP answer it belongs to). Fails after <paramref name="timeout"/>.
    /// </summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (_output.ToString().Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            _outputWaiters.Add((text, seen));
        }

        try
        {
            await seen.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The web sample did not log '{text}' within {timeout.TotalSeconds} s. Its output:\n{Output}");
        }
    }

    private async Task WaitUntilHealthyAsync()
    {
        // The server says it listens once Kestrel is bound, so the first attempt normally answers; a failed attempt
        // is retried a bounded number of times, each after a short pause.
        Exception? last = null;
        for (int attempt = 1; attempt <= HealthAttempts; attempt++)
        {
            try
            {
                using var response = await Client.GetAsync("health");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                last = new HttpRequestException($"GET /health answered {(int)response.StatusCode}.");
            }
            catch (HttpRequestException ex)
            {
                last = ex;
            }

            if (_process.HasExited)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        throw new InvalidOperationException($"The web sample at {BaseAddress} did not become healthy: {last?.Message}\n{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex NowListening();
}
