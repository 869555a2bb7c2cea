using AgentCore.Testing;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

/// <summary>The lock-provider conformance suite: every provider instance on one SQLite file, as separate processes would have.</summary>
[TestFixture]
public sealed class SqliteSessionLockProviderConformanceTests : SessionLockProviderConformanceTests
{
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("agentcore-sqlite-lockconf-").FullName;

    protected override ISessionLockProvider CreateProvider() => new SqliteSessionLockProvider(Path.Combine(_directory, "agentcore.db"));

    protected override ValueTask CleanUpAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}
