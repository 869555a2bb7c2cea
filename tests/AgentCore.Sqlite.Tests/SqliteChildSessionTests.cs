using AgentCore.Tests.Shared;
using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

/// <summary>Sub-agents in child sessions on the SQLite store.</summary>
[TestFixture]
public sealed class SqliteChildSessionTests : ChildSessionStoreTests
{
    protected override void UseStore(IAgentCoreBuilder builder) => builder.UseSqlite(Path.Combine(Directory, "agentcore.db"));

    public override void DeleteDirectory()
    {
        SqliteConnection.ClearAllPools();
        base.DeleteDirectory();
    }
}
