using AgentCore.Storage.Worker;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary>Two real processes on one PostgreSQL database: no lost writes, and the session lock and abort hold between them.</summary>
public sealed class PostgresTwoProcessTests
{
    private string _connectionString = null!;

    [SetUp]
    public void CreateDatabase() => _connectionString = PostgresServer.CreateDatabase();

    [Test]
    public async Task SaveAsync_TwoProcessesWritingOneSessionAtOnce_NoneLost()
    {
        const int Count = 150;
        string sessionId = AgentCoreIds.NewSessionId();
        await using (var migrated = new PostgresSessionStore(_connectionString))
        {
            await migrated.MigrateAsync(); // so both workers write at once rather than one migrating
        }

        await using var first = WorkerProcess.Start("write", "postgres", _connectionString, sessionId, Count.ToString(), "first");
        await using var second = WorkerProcess.Start("write", "postgres", _connectionString, sessionId, Count.ToString(), "second");
        (await first.ReadLineAsync()).Should().Be("ready");
        (await second.ReadLineAsync()).Should().Be("ready");

        await first.WriteLineAsync("go");
        await second.WriteLineAsync("go");

        (await first.ReadLineAsync()).Should().Be($"done {Count}", first.Errors);
        (await second.ReadLineAsync()).Should().Be($"done {Count}", second.Errors);
        await using var store = new PostgresSessionStore(_connectionString);
        var texts = (await store.GetMessagesAsync(sessionId)).Select(static m => m.Text).ToList();
        var expected = Enumerable.Range(0, Count).SelectMany(static i => new[] { $"first {i} done", $"second {i} done" });
        texts.Should().BeEquivalentTo(expected);
        var sessions = new List<SessionInfo>();
        await foreach (var session in store.ListSessionsAsync())
        {
            sessions.Add(session);
        }

        sessions.Select(static s => s.Title).Should().BeEquivalentTo("first", "second");
    }

    [Test]
    public async Task TryAcquireAsync_LockHeldByAnotherProcess_BusyUntilReleasedAndAbortReachesIt()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        await using var holder = WorkerProcess.Start("lock", "postgres", _connectionString, sessionId);
        (await holder.ReadLineAsync()).Should().Be("locked", holder.Errors);

        await using (var contender = WorkerProcess.Start("lock", "postgres", _connectionString, sessionId))
        {
            (await contender.ReadLineAsync()).Should().Be("busy");
            (await contender.WaitForExitAsync()).Should().Be(3);
        }

        await using var provider = new PostgresSessionLockProvider(_connectionString);
        (await provider.TryAcquireAsync(sessionId)).Should().BeNull();
        provider.RequestAbort(sessionId).Should().BeTrue();
        (await holder.ReadLineAsync()).Should().Be("aborted");

        await holder.WriteLineAsync("release");
        (await holder.ReadLineAsync()).Should().Be("released");
        (await holder.WaitForExitAsync()).Should().Be(0);
        await using var lease = await provider.TryAcquireAsync(sessionId);
        lease.Should().NotBeNull();
    }

    [Test]
    public async Task TryAcquireAsync_HolderProcessKilled_LockFreed()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        await using var holder = WorkerProcess.Start("lock", "postgres", _connectionString, sessionId);
        (await holder.ReadLineAsync()).Should().Be("locked", holder.Errors);
        await using var provider = new PostgresSessionLockProvider(_connectionString);
        (await provider.TryAcquireAsync(sessionId)).Should().BeNull();

        await holder.KillAsync();

        // The kernel closes the killed process's socket and the server ends that backend on its own, asynchronously:
        // wait for the lock itself (a blocking pg_advisory_lock, bounded by lock_timeout), then let it go again.
        await WaitForLockReleaseAsync(_connectionString, sessionId);
        await using var lease = await provider.TryAcquireAsync(sessionId);
        lease.Should().NotBeNull();
    }

    /// <summary>
    /// Waits until no one holds the session's advisory lock: takes it with a blocking <c>pg_advisory_lock</c> (bounded by
    /// <c>lock_timeout</c>) and lets it go again.
    /// </summary>
    internal static async Task WaitForLockReleaseAsync(string connectionString, string sessionId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var batch = new Npgsql.NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new Npgsql.NpgsqlBatchCommand("SET lock_timeout = '60s'"),
                new Npgsql.NpgsqlBatchCommand("SELECT pg_advisory_lock($1)") { Parameters = { new() { Value = PostgresSessionLockProvider.LockKey(sessionId) } } },
                new Npgsql.NpgsqlBatchCommand("SELECT pg_advisory_unlock($1)") { Parameters = { new() { Value = PostgresSessionLockProvider.LockKey(sessionId) } } },
            },
        };
        await batch.ExecuteNonQueryAsync();
    }
}
