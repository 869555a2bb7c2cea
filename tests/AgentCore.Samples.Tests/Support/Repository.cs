namespace AgentCore.Samples.Tests.Support;

/// <summary>The repository these tests run in, and what the build scripts leave in it.</summary>
internal static class Repository
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AgentCore.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No AgentCore.sln above {AppContext.BaseDirectory}.");
    });

    /// <summary>The folder holding AgentCore.sln.</summary>
    public static string Root => RootPath.Value;

    /// <summary>
    /// Stops the test because something scripts/test.sh builds is missing: under CI (<c>CI</c> set) that is a broken
    /// set-up and the test fails; on a developer's machine the test is skipped with the same message.
    /// </summary>
    public static void Missing(string message)
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail(message);
        }

        Assert.Ignore(message);
    }

    /// <summary>The newest build of a sample (Release or Debug), or a failure or skip saying how to build it.</summary>
    public static string SampleDll(string project)
    {
        var builds = new[] { "Release", "Debug" }
            .Select(configuration => new FileInfo(Path.Combine(Root, "samples", project, "bin", configuration, "net10.0", project + ".dll")))
            .Where(file => file.Exists)
            .OrderByDescending(file => file.LastWriteTimeUtc)
            .ToList();
        if (builds.Count == 0)
        {
            Missing($"samples/{project} is not built. Run ./scripts/test.sh: it packs the packages and builds the samples from them (CI always does).");
        }

        return builds[0].FullName;
    }

    /// <summary>
    /// The version scripts/pack.sh gave the packages: <c>AgentCoreLocalVersion</c> in the
    /// artifacts/packages/local-version.props it writes beside them.
    /// </summary>
    public static string LocalPackageVersion()
    {
        string path = Path.Combine(Root, "artifacts", "packages", "local-version.props");
        if (!File.Exists(path))
        {
            Missing("artifacts/packages/local-version.props is missing. Run ./scripts/test.sh (or ./scripts/pack.sh): it packs the packages (CI always does).");
        }

        var props = System.Xml.Linq.XDocument.Load(path);
        return props.Descendants("AgentCoreLocalVersion").Single().Value.Trim();
    }
}
