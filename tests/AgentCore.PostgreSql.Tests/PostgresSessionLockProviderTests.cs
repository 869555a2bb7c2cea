using FluentAssertions;
using Npgsql;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

public sealed class PostgresSessionLockProviderTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly List<PostgresSessionLockProvider> _providers = [];
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
    public async Task TryAcquireAsync_HeldBySameProvider_ReturnsNull()
    {
        var provider = NewProvider();
        string sessionId = AgentCoreIds.NewSessionId();
        await using var first = await provider.TryAcquireAsync(sessionId);

        (await provider.TryAcquireAsync(sessionId)).Should().BeNull();
    }

    [Test]
    public async Task TryAcquireAsync_HeldByAnotherInstance_ReturnsNullAtOnce()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        await using var first = await NewProvider().TryAcquireAsync(sessionId);

        (await NewProvider().TryAcquireAsync(sessionId)).Should().BeNull();
    }

    [Test]
    public async Task TryAcquireAsync_OtherSession_NotBlocked()
    {
        await using var first = await NewProvider().TryAcquireAsync(AgentCoreIds.NewSessionId());

        await using var second = await NewProvider().TryAcquireAsync(AgentCoreIds.NewSessionId());

        second.Should().NotBeNull();
    }

    [Test]
    public async Task DisposeAsync_Lease_ReleasesTheLockForOtherInstances()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var first = await NewProvider().TryAcquireAsync(sessionId);
        await first!.DisposeAsync();

        await using var second = await NewProvider().TryAcquireAsync(sessionId);

        second.Should().NotBeNull();
    }

    [Test]
    public async Task DisposeAsync_Lease_UnlocksOnItsConnectionWithoutWarnings()
    {
        var logger = new ListLogger();
        await using var provider = new PostgresSessionLockProvider(_connectionString, logger);
        string sessionId = AgentCoreIds.NewSessionId();
        var lease = await provider.TryAcquireAsync(sessionId);

        await lease!.DisposeAsync();

        logger.Messages.Should().BeEmpty();
        (await HolderPidAsync(sessionId)).Should().BeNull();
        lease.AbortRequested.IsCancellationRequested.Should().BeFalse();
    }

    [Test]
    public async Task DisposeAsync_Provider_ReleasesItsLeases()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var provider = new PostgresSessionLockProvider(_connectionString);
        (await provider.TryAcquireAsync(sessionId)).Should().NotBeNull();

        await provider.DisposeAsync();

        await using var again = await NewProvider().TryAcquireAsync(sessionId);
        again.Should().NotBeNull();
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
    public async Task RequestAbort_FromAnotherInstance_ReachesTheHolder()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        string otherSessionId = AgentCoreIds.NewSessionId();
        var holder = NewProvider();
        await using var lease = await holder.TryAcquireAsync(sessionId);
        await using var otherLease = await holder.TryAcquireAsync(otherSessionId);
        var aborted = Signal(lease!.AbortRequested);

        NewProvider().RequestAbort(sessionId).Should().BeTrue();

        await aborted.WaitAsync(Bound);
        otherLease!.AbortRequested.IsCancellationRequested.Should().BeFalse("only the named session is aborted");
    }

    [Test]
    public async Task RequestAbort_HolderInSameProvider_CancelsAtOnce()
    {
        var provider = NewProvider();
        string sessionId = AgentCoreIds.NewSessionId();
        await using var lease = await provider.TryAcquireAsync(sessionId);

        provider.RequestAbort(sessionId).Should().BeTrue();

        lease!.AbortRequested.IsCancellationRequested.Should().BeTrue();
    }

    [Test]
    public async Task RequestAbort_NobodyHoldsTheLock_ReturnsFalse()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var provider = NewProvider();
        provider.RequestAbort(sessionId).Should().BeFalse();
        var lease = await provider.TryAcquireAsync(sessionId);
        await lease!.DisposeAsync();

        NewProvider().RequestAbort(sessionId).Should().BeFalse();
    }

    [Test]
    public async Task AllMethods_InvalidSessionId_ThrowArgumentExceptionNamingIt()
    {
        var provider = NewProvider();
        foreach (string bad in new[] { "../ses_x", "ses_a/b", "ses_x'; SELECT pg_advisory_unlock_all(); --" })
        {
            await FluentActions.Awaiting(() => provider.TryAcquireAsync(bad).AsTask())
                .Should().ThrowAsync<ArgumentException>().Where(e => e.Message.Contains(bad));
            FluentActions.Invoking(() => provider.RequestAbort(bad))
                .Should().Throw<ArgumentException>().Where(e => e.Message.Contains(bad));
        }
    }

    [Test]
    public void LockKey_SameId_StableAndDistinct()
    {
        PostgresSessionLockProvider.LockKey("ses_abc").Should().Be(PostgresSessionLockProvider.LockKey("ses_abc"));
        PostgresSessionLockProvider.LockKey("ses_abc").Should().NotBe(PostgresSessionLockProvider.LockKey("ses_abd"));
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger<PostgresSessionLockProvider>
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

    private PostgresSessionLockProvider NewProvider()
    {
        var provider = new PostgresSessionLockProvider(_connectionString);
        _providers.Add(provider);
        return provider;
    }

    private async Task<int?> HolderPidAsync(string sessionId)
    {
        long key = PostgresSessionLockProvider.LockKey(sessionId);
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
