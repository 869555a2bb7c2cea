using System.Diagnostics;
using AgentCore.Tests.Support;

namespace AgentCore.Storage.Worker;

/// <summary>
/// Runs <c>AgentCore.Storage.Worker</c> (built beside the test assembly) as a separate process and talks to it line by
/// line over stdin and stdout. Every read is bounded, so a stuck worker fails the test instead of hanging it.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);
    private readonly Process _process;
    private readonly List<string> _errors = [];

    private WorkerProcess(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_errors)
                {
                    _errors.Add(e.Data);
                }
            }
        };
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts the worker with <paramref name="arguments"/>.</summary>
    public static WorkerProcess Start(params string[] arguments)
    {
        // Beside the tests, or in a folder of its own when the test project runs on another shared framework than it does.
        string worker = Path.Combine(AppContext.BaseDirectory, "storage-worker", "AgentCore.Storage.Worker.dll");
        if (!File.Exists(worker))
        {
            worker = Path.Combine(AppContext.BaseDirectory, "AgentCore.Storage.Worker.dll");
        }

        if (!File.Exists(worker))
        {
            throw new FileNotFoundException("The worker was not built beside the tests.", worker);
        }

        var start = DotnetProcess.StartInfo(worker, arguments);
        return new WorkerProcess(Process.Start(start) ?? throw new InvalidOperationException("Could not start the worker."));
    }

    /// <summary>Reads the worker's next line of output.</summary>
    public async Task<string> ReadLineAsync()
    {
        string? line = await _process.StandardOutput.ReadLineAsync().WaitAsync(Bound);
        return line ?? throw new InvalidOperationException($"The worker ended without the expected line. Its errors:\n{Errors}");
    }

    /// <summary>Sends a line to the worker.</summary>
    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits for the worker to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(Bound);
        return _process.ExitCode;
    }

    /// <summary>Kills the worker, as a crash would, and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().WaitAsync(Bound);
    }

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return string.Join('\n', _errors);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
