namespace AgentCore.Tests.Engine;

/// <summary>The lock-provider conformance suite: every provider instance on one lock folder, as separate processes would have.</summary>
[TestFixture]
public sealed class FileSessionLockProviderConformanceTests : SessionLockProviderConformanceTests
{
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("agentcore-lockconf-").FullName;

    protected override ISessionLockProvider CreateProvider() => new FileSessionLockProvider(Path.Combine(_directory, "locks"));

    protected override ValueTask CleanUpAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}
