using Microsoft.Playwright;
using NUnit.Framework;

namespace AgentCore.Samples.Web.Tests.Browser;

/// <summary>
/// Debian's <c>chromium</c> from the PATH, launched headless through Playwright for .NET. Playwright's own browsers are
/// never used nor installed: <see cref="BrowserTypeLaunchOptions.ExecutablePath"/> names the installed one, and
/// Playwright talks to it over a pipe (no DevTools port, no file to wait for).
/// </summary>
internal static class Chromium
{
    /// <summary>What the browser gets besides Playwright's own switches: nothing it does not need, nothing from the network.</summary>
    private static readonly string[] Arguments =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

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

    /// <summary>Launches <paramref name="executable"/> headless; disposing the browser closes it and its processes.</summary>
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright, string executable) =>
        playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args = Arguments,
        });
}
