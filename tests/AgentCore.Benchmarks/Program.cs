using BenchmarkDotNet.Running;

namespace AgentCore.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project tests/AgentCore.Benchmarks -- --quick</c> prints every figure against its goal;
/// any other arguments go to BenchmarkDotNet (for example <c>--filter *</c>).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Contains("--quick"))
        {
            return await Quick.RunAsync(args);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
