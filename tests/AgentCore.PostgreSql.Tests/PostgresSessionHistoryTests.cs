using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

public sealed class PostgresSessionHistoryTests
{
    private string _connectionString = null!;

    [SetUp]
    public void CreateDatabase() => _connectionString = PostgresServer.CreateDatabase();

    [Test]
    public async Task ReadAsync_StartAndEndRecorded_RoundTripsInOrder()
    {
        await using var history = new PostgreSqlSessionHistory(_connectionString);
        string sessionId = AgentCoreIds.NewSessionId();
        var start = new SessionHistoryEntry
        {
            AgentId = "agent-ü", SessionId = sessionId, Timestamp = 1_760_000_000_123, Project = "/srv/项目", Model = "m-1", Provider = "p",
        };
        var end = start with
        {
            Timestamp = 1_760_000_009_999,
            Usage = new HistoryUsage
            {
                PromptTokens = 1200, CompletionTokens = 340, TotalTokens = 1540, CachedInputTokens = 800, CacheWriteTokens = 100,
                ReasoningTokens = 40, ContextTokens = 1540, Steps = 3,
            },
            Duration = new HistoryDuration { ApiMs = 1234.5, WallMs = 2345 },
            Cost = new HistoryCost { Type = HistoryCost.Byok, UsdByok = 0.012345678m },
            MessageCount = 4,
            ToolCallCount = 2,
            ExitReason = "completed",
        };

        await history.RecordStartAsync(start);
        await history.RecordEndAsync(end);

        var read = await ReadAllAsync(history);
        read.Should().HaveCount(2);
        read[0].Should().BeEquivalentTo(start);
        read[1].Should().BeEquivalentTo(end);
        (await ScalarAsync("SELECT string_agg(kind || ':' || session_id || ':' || total_tokens || ':' || coalesce(cost_usd::text, '-'), ',' ORDER BY seq) FROM agentcore_history"))
            .Should().Be($"start:{sessionId}:0:-,end:{sessionId}:1540:0.012345678");
    }

    [Test]
    public async Task DeleteSessionsAsync_SomeSessions_DeletesOnlyTheirEntries()
    {
        await using var history = new PostgreSqlSessionHistory(_connectionString);
        string doomed = AgentCoreIds.NewSessionId();
        string kept = AgentCoreIds.NewSessionId();
        await history.RecordStartAsync(new SessionHistoryEntry { SessionId = doomed, Timestamp = 1 });
        await history.RecordEndAsync(new SessionHistoryEntry { SessionId = doomed, Timestamp = 2, ExitReason = "completed" });
        await history.RecordStartAsync(new SessionHistoryEntry { SessionId = kept, Timestamp = 3 });

        int deleted = await history.DeleteSessionsAsync([doomed, AgentCoreIds.NewSessionId()]);

        deleted.Should().Be(2);
        (await ReadAllAsync(history)).Select(static e => e.SessionId).Should().Equal(kept);
        (await history.DeleteSessionsAsync([])).Should().Be(0);
    }

    [Test]
    public async Task ReadAsync_CorruptRow_SkippedOthersRead()
    {
        await using var history = new PostgreSqlSessionHistory(_connectionString);
        var first = new SessionHistoryEntry { SessionId = AgentCoreIds.NewSessionId(), Timestamp = 1 };
        var second = new SessionHistoryEntry { SessionId = AgentCoreIds.NewSessionId(), Timestamp = 2 };
        await history.RecordStartAsync(first);
        await history.RecordStartAsync(second);

        await ScalarAsync("UPDATE agentcore_history SET data = '{\"session_id\": ' WHERE seq = (SELECT min(seq) FROM agentcore_history)");

        (await ReadAllAsync(history)).Should().ContainSingle().Which.Should().BeEquivalentTo(second);
    }

    [Test]
    public async Task ReadAsync_Empty_ReturnsNothing()
    {
        await using var history = new PostgreSqlSessionHistory(_connectionString);

        (await ReadAllAsync(history)).Should().BeEmpty();
    }

    [Test]
    public async Task UsePostgreSql_Defaults_RegistersStoreLockAndHistoryOnOneDatabase()
    {
        var services = new ServiceCollection();
        services.AddAgentCore(o => o.DataDirectory = Path.GetTempPath()).UsePostgreSql(_connectionString);
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<ISessionStore>().Should().BeOfType<PostgreSqlSessionStore>().Subject;
        provider.GetRequiredService<ISessionLockProvider>().Should().BeOfType<PostgreSqlSessionLockProvider>();
        var history = provider.GetRequiredService<ISessionHistory>().Should().BeOfType<PostgreSqlSessionHistory>().Subject;
        var session = new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow };
        await store.SaveSessionAsync(session);
        await history.RecordStartAsync(new SessionHistoryEntry { SessionId = session.Id });

        (await ScalarAsync("SELECT (SELECT count(*) FROM agentcore_sessions) + (SELECT count(*) FROM agentcore_history)")).Should().Be(2L);
    }

    [Test]
    public async Task UsePostgreSql_LockAndHistoryOff_KeepsDefaults()
    {
        var services = new ServiceCollection();
        services.AddAgentCore(o => o.DataDirectory = Path.GetTempPath())
            .UsePostgreSql(_connectionString, o => { o.UseHistory = false; o.UseSessionLock = false; });
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<ISessionStore>().Should().BeOfType<PostgreSqlSessionStore>();
        provider.GetRequiredService<ISessionLockProvider>().Should().NotBeOfType<PostgreSqlSessionLockProvider>();
        provider.GetRequiredService<ISessionHistory>().Should().BeOfType<JsonlSessionHistory>();
    }

    [Test]
    public void UsePostgreSql_MalformedConnectionString_ThrowsArgumentException()
    {
        var builder = new ServiceCollection().AddAgentCore();

        FluentActions.Invoking(() => builder.UsePostgreSql("Host=x;NoSuchKeyword=1")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => builder.UsePostgreSql(" ")).Should().Throw<ArgumentException>();
    }

    private static async Task<List<SessionHistoryEntry>> ReadAllAsync(ISessionHistory history)
    {
        var entries = new List<SessionHistoryEntry>();
        await foreach (var entry in history.ReadAsync())
        {
            entries.Add(entry);
        }

        return entries;
    }

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
