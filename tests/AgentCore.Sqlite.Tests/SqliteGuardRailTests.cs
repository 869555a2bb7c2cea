using AgentCore.Tests.Shared;
using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

/// <summary>Tool approval and guard rails on the SQLite store.</summary>
[TestFixture]
public sealed class SqliteGuardRailTests : GuardRailStoreTests
{
    protected override void UseStore(IAgentCoreBuilder builder) => builder.UseSqlite(Path.Combine(Directory, "agentcore.db"));

    public override void DeleteDirectory()
    {
        SqliteConnection.ClearAllPools();
        base.DeleteDirectory();
    }
}
