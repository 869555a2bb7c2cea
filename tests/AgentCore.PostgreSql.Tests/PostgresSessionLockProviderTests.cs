using FluentAssertions;
using Npgsql;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

public sealed class PostgresSessionLockProviderTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly List<PostgreSqlSessionLockProvider> _providers = [];
    private string _connectionString = null!;

    [SetUp]
    public void CreateDatabase() => _connectionString = PostgresServer.CreateDatabase();

    [TearDown]
    public async Task DisposeProviders()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        _providers.Clear();
    }

    [Test]
    public async Task TryAcquireAsync_Free_ReturnsLeaseHoldingTheAdvisoryLock()
    {
        string sessionId = AgentCoreIds.NewSessionId();

        await using var lease = await NewProvider().TryAcquireAsync(sessionId);

        lease.Should().NotBeNull();
        lease!.SessionId.Should().Be(sessionId);
        lease.AbortRequested.IsCancellationRequested.Should().BeFalse();
        (await HolderPidAsync(sessionId)).Should().NotBeNull();
    }

    [Test]
    public async Task DisposeAsync_Lease_UnlocksOnItsConnectionWithoutWarnings()
    {
        var logger = new ListLogger();
        await using var provider = new PostgreSqlSessionLockProvider(_connectionString, logger);
        string sessionId = AgentCoreIds.NewSessionId();
        var lease = await provider.TryAcquireAsync(sessionId);

        await lease!.DisposeAsync();

        logger.Messages.Should().BeEmpty();
        (await HolderPidAsync(sessionId)).Should().BeNull();
        lease.AbortRequested.IsCancellationRequested.Should().BeFalse();
    }

    [Test]
    public async Task TryAcquireAsync_HolderConnectionKilled_LockFreedAndHolderAborted()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        await using var lease = await NewProvider().TryAcquireAsync(sessionId);
        var aborted = Signal(lease!.AbortRequested);
        int pid = (await HolderPidAsync(sessionId))!.Value;

        await using (var admin = new NpgsqlConnection(_connectionString))
        {
            await admin.OpenAsync();
            await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend($1, 60000)", admin);
            kill.Parameters.AddWithValue(pid);
            (await kill.ExecuteScalarAsync()).Should().Be(true);
        }

        await using var taken = await NewProvider().TryAcquireAsync(sessionId);
        taken.Should().NotBeNull("the server releases a dead connection's advisory locks");
        await aborted.WaitAsync(Bound); // the holder learns that its lock is gone
    }

    [Test]
    public async Task RequestAbortAsync_FromAnotherInstance_ReachesTheHolder()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        string otherSessionId = AgentCoreIds.NewSessionId();
        var holder = NewProvider();
        await using var lease = await holder.TryAcquireAsync(sessionId);
        await using var otherLease = await holder.TryAcquireAsync(otherSessionId);
        var aborted = Signal(lease!.AbortRequested);

        (await NewProvider().RequestAbortAsync(sessionId)).Should().BeTrue();

        await aborted.WaitAsync(Bound);
        otherLease!.AbortRequested.IsCancellationRequested.Should().BeFalse("only the named session is aborted");
    }

    [Test]
    public void LockKey_SameId_StableAndDistinct()
    {
        PostgreSqlSessionLockProvider.LockKey("ses_abc").Should().Be(PostgreSqlSessionLockProvider.LockKey("ses_abc"));
        PostgreSqlSessionLockProvider.LockKey("ses_abc").Should().NotBe(PostgreSqlSessionLockProvider.LockKey("ses_abd"));
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger<PostgreSqlSessionLockProvider>
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Messages)
            {
                Messages.Add(formatter(state, exception));
            }
        }
    }

    private PostgreSqlSessionLockProvider NewProvider()
    {
        var provider = new PostgreSqlSessionLockProvider(_connectionString);
        _providers.Add(provider);
        return provider;
    }

    private async Task<int?> HolderPidAsync(string sessionId)
    {
        long key = PostgreSqlSessionLockProvider.LockKey(sessionId);
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT pid FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND classid::bigint = $1 AND objid::bigint = $2
            """, connection);
        command.Parameters.AddWithValue((long)((ulong)key >> 32));
        command.Parameters.AddWithValue(key & 0xFFFF_FFFFL);
        return await command.ExecuteScalarAsync() as int?;
    }

    private static Task Signal(CancellationToken token)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        token.Register(() => signal.TrySetResult());
        return signal.Task;
    }
}
