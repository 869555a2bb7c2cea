using AgentCore.Tests.Shared;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary>Tool approval and guard rails on the PostgreSQL store.</summary>
[TestFixture]
public sealed class PostgresGuardRailTests : GuardRailStoreTests
{
    private string _connectionString = null!;

    [SetUp]
    public void CreateDatabase() => _connectionString = PostgresServer.CreateDatabase();

    protected override void UseStore(IAgentCoreBuilder builder) => builder.UsePostgreSql(_connectionString);
}
