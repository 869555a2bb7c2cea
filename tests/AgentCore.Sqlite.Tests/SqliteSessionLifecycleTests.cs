using AgentCore.TestInfrastructure;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

/// <summary>The lifecycle suite (fork, revert, export/import, purge) over <see cref="SqliteSessionStore"/>, a new database file for each store.</summary>
[TestFixture]
public sealed class SqliteSessionLifecycleTests : SessionLifecycleTests
{
    private readonly List<string> _directories = [];

    protected override ISessionStore CreateStore()
    {
        string directory = Path.Combine(Path.GetTempPath(), "agentcore-sqlite-lifecycle-" + Guid.NewGuid().ToString("N"));
        _directories.Add(directory);
        return new SqliteSessionStore(Path.Combine(directory, "agentcore.db"));
    }

    protected override ValueTask CleanUpAsync()
    {
        foreach (string directory in _directories.Where(Directory.Exists))
        {
            Directory.Delete(directory, recursive: true);
        }

        _directories.Clear();
        return ValueTask.CompletedTask;
    }
}
