using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using NUnit.Framework;

namespace AgentCore.Samples.Web.Tests.Browser;

/// <summary>
/// A headless Chromium (Debian's <c>chromium</c> package) with a temporary profile and its DevTools endpoint on a
/// free port; disposing it kills the browser and all its child processes and deletes the profile.
/// </summary>
internal sealed class Chromium : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly string _profile;
    private readonly StringBuilder _errors = new();

    private Chromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>The DevTools HTTP endpoint, like <c>http://127.0.0.1:39123/</c>.</summary>
    public Uri DevToolsAddress { get; private set; } = null!;

    /// <summary>The executable of the <c>chromium</c> command on the PATH, or null.</summary>
    public static string? FindExecutable()
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, "chromium");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The browser's path, or the test is ignored saying Chromium is not installed.</summary>
    public static string RequireExecutable()
    {
        string? executable = FindExecutable();
        if (executable is null)
        {
            Assert.Ignore("Chromium is not installed (no 'chromium' on the PATH), so the browser test is skipped. " +
                          "scripts/test.sh installs it when run as root (apt-get install chromium).");
        }

        return executable!;
    }

    public static async Task<Chromium> LaunchAsync(string executable)
    {
        string profile = Path.Combine(Path.GetTempPath(), "agentcore-chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])
                 ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1280,800", $"--user-data-dir={profile}",
                  "--remote-debugging-port=0", "about:blank"])
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        var browser = new Chromium(process, profile);
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) => browser.OnError(e.Data, listening);
        process.OutputDataReceived += (_, _) => { };
        try
        {
            process.Start();
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();

            // Chromium writes DevToolsActivePort into the profile, then prints "DevTools listening on ws://...".
            var first = await Task.WhenAny(listening.Task, process.WaitForExitAsync()).WaitAsync(StartTimeout);
            if (first != listening.Task)
            {
                throw new InvalidOperationException($"Chromium exited with code {process.ExitCode} before its DevTools endpoint listened:\n{browser.Errors}");
            }

            string[] activePort = await File.ReadAllLinesAsync(Path.Combine(profile, "DevToolsActivePort"));
            browser.DevToolsAddress = new Uri($"http://127.0.0.1:{int.Parse(activePort[0], System.Globalization.CultureInfo.InvariantCulture)}/");
            return browser;
        }
        catch (TimeoutException)
        {
            await browser.DisposeAsync();
            throw new InvalidOperationException($"Chromium did not open its DevTools endpoint within {StartTimeout.TotalSeconds} s:\n{browser.Errors}");
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    /// <summary>What the browser wrote to stderr.</summary>
    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    /// <summary>Connects to the browser's first page (tab) over the DevTools protocol.</summary>
    public async Task<DevToolsSession> OpenPageAsync()
    {
        using var http = new HttpClient { BaseAddress = DevToolsAddress };
        var targets = await http.GetFromJsonAsync<JsonElement[]>("json/list");
        var page = targets!.FirstOrDefault(t => t.GetProperty("type").GetString() == "page");
        if (page.ValueKind != JsonValueKind.Object)
        {
            using var created = await http.PutAsync("json/new?about:blank", content: null);
            created.EnsureSuccessStatusCode();
            page = await created.Content.ReadFromJsonAsync<JsonElement>();
        }

        return await DevToolsSession.ConnectAsync(new Uri(page.GetProperty("webSocketDebuggerUrl").GetString()!));
    }

    private void OnError(string? line, TaskCompletionSource listening)
    {
        if (line is null)
        {
            return;
        }

        lock (_errors)
        {
            _errors.AppendLine(line);
        }

        if (line.StartsWith("DevTools listening on ", StringComparison.Ordinal))
        {
            listening.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
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
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // A killed child may still hold a file for a moment; the folder is in the temporary directory.
        }
    }
}
