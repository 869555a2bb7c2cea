using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary><c>UsePostgreSql</c> with the app's own <see cref="NpgsqlDataSource"/>: one data source for store, history and lock.</summary>
public sealed class PostgreSqlDataSourceTests
{
    [Test]
    public async Task UsePostgreSql_DataSourceFactory_StoreHistoryAndLockShareItAndLeaveItOpen()
    {
        string connectionString = PostgresServer.CreateDatabase();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        int created = 0;
        var services = new ServiceCollection();
        services.AddAgentCore(o => o.DataDirectory = Path.GetTempPath()).UsePostgreSql(_ =>
        {
            Interlocked.Increment(ref created);
            return dataSource;
        });
        string sessionId = AgentCoreIds.NewSessionId();
        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<ISessionStore>();
            var history = provider.GetRequiredService<ISessionHistory>();
            var locks = provider.GetRequiredService<ISessionLockProvider>();
            await store.SaveSessionAsync(new SessionInfo { Id = sessionId, Title = "own source", CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch });
            await history.RecordStartAsync(new SessionHistoryEntry { SessionId = sessionId, AgentId = "agent" });
            await using var lease = await locks.TryAcquireAsync(sessionId);

            lease.Should().NotBeNull();
            (await locks.RequestAbortAsync(sessionId)).Should().BeTrue();
            lease!.AbortRequested.IsCancellationRequested.Should().BeTrue();
            store.Should().BeOfType<PostgreSqlSessionStore>();
            history.Should().BeOfType<PostgreSqlSessionHistory>();
            locks.Should().BeOfType<PostgreSqlSessionLockProvider>();
        }

        created.Should().Be(1, "the store, the history and the lock share the one data source");
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM agentcore_sessions WHERE id = $1");
        command.Parameters.AddWithValue(sessionId);
        (await command.ExecuteScalarAsync()).Should().Be(1L, "the container does not dispose a data source AgentCore did not create");
    }

    [Test]
    public void PostgreSqlSessionLockProvider_MultiplexingDataSource_ThrowsArgumentException()
    {
        using var dataSource = NpgsqlDataSource.Create("Host=localhost;Multiplexing=true");

        var act = () => new PostgreSqlSessionLockProvider(dataSource);

        act.Should().Throw<ArgumentException>().WithMessage("*multiplexing*");
    }
}
