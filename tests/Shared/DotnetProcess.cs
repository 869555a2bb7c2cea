using System.Diagnostics;

namespace AgentCore.Tests.Support;

/// <summary>How the tests start a built .NET program (a worker, a sample) as a process of its own.</summary>
internal static class DotnetProcess
{
    /// <summary>
    /// A start for <c>dotnet &lt;dll&gt; &lt;arguments&gt;</c> with standard input, output and error redirected, on the dotnet
    /// host that runs the tests.
    /// </summary>
    public static ProcessStartInfo StartInfo(string dll, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(Host())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>The dotnet host: the one the dotnet CLI names to its children, else this process's host, else the PATH's.</summary>
    public static string Host()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        string? self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? self : "dotnet";
    }
}
