using AgentCore.Testing;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary>The lock-provider conformance suite: every provider instance on one PostgreSQL database, as separate app instances would have.</summary>
[TestFixture]
public sealed class PostgresSessionLockProviderConformanceTests : SessionLockProviderConformanceTests
{
    private string _connectionString = null!;

    [SetUp]
    public void CreateDatabase() => _connectionString = PostgresServer.CreateDatabase();

    protected override ISessionLockProvider CreateProvider() => new PostgreSqlSessionLockProvider(_connectionString);
}
