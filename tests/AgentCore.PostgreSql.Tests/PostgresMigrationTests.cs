using FluentAssertions;
using Npgsql;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

public sealed class PostgresMigrationTests
{
    private string _connectionString = null!;

    [SetUp]
    public void CreateDatabase() => _connectionString = PostgresServer.CreateDatabase();

    [Test]
    public async Task MigrateAsync_ManyInstancesAtOnce_MigrateOnceAndAllWork()
    {
        var stores = Enumerable.Range(0, 6).Select(_ => new PostgresSessionStore(_connectionString)).ToList();
        var history = new PostgresSessionHistory(_connectionString);
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var work = stores.Select(store => Task.Run(async () =>
        {
            await start.Task;
            await store.SaveSessionAsync(NewSession());
        })).Append(Task.Run(async () =>
        {
            await start.Task;
            await history.RecordStartAsync(new SessionHistoryEntry { SessionId = AgentCoreIds.NewSessionId() });
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(work);

        (await ScalarAsync("SELECT count(*) FROM agentcore_sessions")).Should().Be(6L);
        (await ScalarAsync("SELECT string_agg(version::text, ',') FROM agentcore_schema_version")).Should().Be("1");
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }

        await history.DisposeAsync();
    }

    [Test]
    public async Task MigrateAsync_Twice_KeepsDataAndVersion()
    {
        var session = NewSession();
        await using (var first = new PostgresSessionStore(_connectionString))
        {
            await first.SaveSessionAsync(session);
        }

        await using var second = new PostgresSessionStore(_connectionString);
        await second.MigrateAsync();
        await second.MigrateAsync();

        (await second.GetSessionAsync(session.Id)).Should().BeEquivalentTo(session);
        (await ScalarAsync("SELECT count(*) FROM agentcore_schema_version")).Should().Be(1L);
    }

    [Test]
    public async Task MigrateAsync_NewerSchema_ThrowsNamingTheVersion()
    {
        await using (var store = new PostgresSessionStore(_connectionString))
        {
            await store.MigrateAsync();
        }

        await ScalarAsync("INSERT INTO agentcore_schema_version (version) VALUES (99)");
        await using var older = new PostgresSessionStore(_connectionString);

        await FluentActions.Awaiting(() => older.GetSessionAsync(AgentCoreIds.NewSessionId()).AsTask())
            .Should().ThrowAsync<InvalidOperationException>().WithMessage("*99*");
    }

    [Test]
    public async Task SaveSessionAsync_Totals_StoredAsColumns()
    {
        await using var store = new PostgresSessionStore(_connectionString);
        var session = NewSession() with { Tokens = new TokenUsage(11, 22, 3, 44, 5), Cost = 1.25m };

        await store.SaveSessionAsync(session);

        (await ScalarAsync("SELECT concat_ws(',', input_tokens, output_tokens, reasoning_tokens, cache_read_tokens, cache_write_tokens, cost) FROM agentcore_sessions"))
            .Should().Be("11,22,3,44,5,1.25");
    }

    private static SessionInfo NewSession()
    {
        var now = DateTimeOffset.UtcNow;
        return new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = now, UpdatedAt = now };
    }

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
