using AgentCore.Tests.Shared;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary>Sub-agents in child sessions on the PostgreSQL store.</summary>
[TestFixture]
public sealed class PostgresChildSessionTests : ChildSessionStoreTests
{
    private string _connectionString = null!;

    [SetUp]
    public void CreateDatabase() => _connectionString = PostgresServer.CreateDatabase();

    protected override void UseStore(IAgentCoreBuilder builder) => builder.UsePostgreSql(_connectionString);
}
