using AgentCore.TestInfrastructure;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary>The lifecycle suite (fork, revert, export/import, purge) over <see cref="PostgreSqlSessionStore"/>, a new database for each store.</summary>
[TestFixture]
public sealed class PostgresSessionLifecycleTests : SessionLifecycleTests
{
    protected override ISessionStore CreateStore() => new PostgreSqlSessionStore(PostgresServer.CreateDatabase());
}
