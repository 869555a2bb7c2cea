using System.Diagnostics;
using NUnit.Framework;

namespace AgentCore.Tests.Support;

/// <summary>
/// Runs tests/AgentCore.Tests.Worker as a real second process (its build output is copied to
/// <c>&lt;test output&gt;/worker/</c> by the test project). Start it, wait until it is ready, then release it
/// with <see cref="Go"/> at the moment the test starts its own writes.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);
    private readonly Process _process;
    private readonly Task<string> _stderr;

    private WorkerProcess(Process process)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public static string WorkerDll => Path.Combine(AppContext.BaseDirectory, "worker", "AgentCore.Tests.Worker.dll");

    /// <summary>Starts the worker and waits for its "ready" line.</summary>
    public static async Task<WorkerProcess> StartAsync(params string[] arguments)
    {
        File.Exists(WorkerDll).Should().BeTrue($"the test project copies the worker to {WorkerDll}");
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(WorkerDll);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("The worker did not start.");
        var worker = new WorkerProcess(process);
        using var timeout = new CancellationTokenSource(Limit);
        string? line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        if (line != "ready")
        {
            await worker.DisposeAsync();
            Assert.Fail($"The worker did not get ready (printed '{line}'): {await worker._stderr}");
        }

        return worker;
    }

    /// <summary>Lets the worker start writing.</summary>
    public void Go()
    {
        _process.StandardInput.WriteLine("go");
        _process.StandardInput.Flush();
    }

    /// <summary>Waits for the worker to finish and fails the test unless it exited 0.</summary>
    public async Task WaitForSuccessAsync()
    {
        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"The worker did not finish within {Limit}.");
        }

        string errors = await _stderr;
        _process.ExitCode.Should().Be(0, $"the worker must finish without an error or a logged warning; it wrote: {errors}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static string DotnetHost()
    {
        // The dotnet CLI tells its children where it is; fall back to this process's host, then to the PATH.
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return self;
        }

        return "dotnet";
    }
}
