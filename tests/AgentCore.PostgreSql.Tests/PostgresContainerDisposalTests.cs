using AgentCore.TestInfrastructure;

namespace AgentCore.PostgreSql.Tests;

/// <summary>
/// Disposing the container of an app on <c>UsePostgreSql</c> (store, history, cross-instance lock and their data source),
/// synchronously and asynchronously: a turn streaming meanwhile ends aborted, never with Npgsql's ObjectDisposedException.
/// </summary>
public sealed class PostgresContainerDisposalTests : ContainerDisposalTests
{
    private string _connectionString = null!;

    protected override Task SetUpStoreAsync()
    {
        _connectionString = PostgresServer.CreateDatabase();
        return Task.CompletedTask;
    }

    protected override void UseStore(IAgentCoreBuilder builder) => builder.UsePostgreSql(_connectionString);
}
