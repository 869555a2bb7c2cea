using System.Diagnostics;
using AgentCore.Tests.Support;

namespace AgentCore.Samples.Tests.Support;

/// <summary>What a sample process printed and how it exited.</summary>
internal sealed record SampleRun(int ExitCode, string Output, string Errors)
{
    /// <summary>Both streams, for assertion messages.</summary>
    public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{Output}\n--- stderr ---\n{Errors}";
}

/// <summary>
/// Runs a built sample as users run it: <c>dotnet &lt;sample&gt;.dll args</c>, in a temp working folder, with
/// <c>ANTHROPIC_API_KEY</c> and <c>AGENTCORE_SAMPLE_MCP</c> removed (so it uses the offline demo model), feeding
/// <paramref name="input"/> on stdin. Bounded: a sample that does not exit fails the test instead of hanging it.
/// </summary>
internal static class SampleProcess
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);

    public static async Task<SampleRun> RunAsync(string dll, string workingDirectory, IEnumerable<string> arguments, string? input = null)
    {
        var start = DotnetProcess.StartInfo(dll, arguments);
        start.WorkingDirectory = workingDirectory;

        start.Environment.Remove("ANTHROPIC_API_KEY");
        start.Environment.Remove("AGENTCORE_SAMPLE_MCP");

        using var process = Process.Start(start) ?? throw new InvalidOperationException("The sample did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }

        process.StandardInput.Close();

        using var timeout = new CancellationTokenSource(Bound);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"The sample did not exit within {Bound}.\n{new SampleRun(-1, await output, await errors)}");
        }

        return new SampleRun(process.ExitCode, await output, await errors);
    }
}
