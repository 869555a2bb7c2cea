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
    public async Task TryAcquireAsync_ThousandSessionsOnAPoolOfFour_AllHeldWithoutAConnectionEach()
    {
        var builder = new NpgsqlConnectionStringBuilder(_connectionString) { MaxPoolSize = 4 };
        await using var provider = new PostgreSqlSessionLockProvider(builder.ConnectionString);
        string[] sessionIds = Enumerable.Range(0, 1000).Select(_ => AgentCoreIds.NewSessionId()).ToArray();

        var leases = await Task.WhenAll(sessionIds.Select(id => provider.TryAcquireAsync(id).AsTask()));

        leases.Should().OnlyContain(static l => l != null);
        (await AdvisoryLocksAsync()).Should().Be(1000L);
        var other = NewProvider();
        (await other.TryAcquireAsync(sessionIds[0])).Should().BeNull();
        (await other.TryAcquireAsync(sessionIds[^1])).Should().BeNull();
        var aborted = Signal(leases[500]!.AbortRequested);
        (await other.RequestAbortAsync(sessionIds[500])).Should().BeTrue();
        await aborted.WaitAsync(Bound);
        leases.Where((_, i) => i != 500).Should().OnlyContain(static l => !l!.AbortRequested.IsCancellationRequested);

        await Task.WhenAll(leases.Select(static l => l!.DisposeAsync().AsTask()));

        (await AdvisoryLocksAsync()).Should().Be(0L);
        await using var again = await other.TryAcquireAsync(sessionIds[0]);
        again.Should().NotBeNull();
    }

    [Test]
    public async Task TryAcquireAsync_ListenerConnectionKilled_HoldersAbortedAndLocksFreed()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var provider = NewProvider();
        await using var lease = await provider.TryAcquireAsync(sessionId);
        var aborted = Signal(lease!.AbortRequested);

        await using (var admin = new NpgsqlConnection(_connectionString))
        {
            await admin.OpenAsync();
            await using var kill = new NpgsqlCommand(
                "SELECT pg_terminate_backend(pid, 60000) FROM pg_stat_activity WHERE query = 'LISTEN agentcore_session_abort' AND pid <> pg_backend_pid()", admin);
            (await kill.ExecuteScalarAsync()).Should().Be(true);
        }

        await aborted.WaitAsync(Bound); // aborts could no longer reach the turn
        await WaitForAdvisoryLocksAsync(0); // the abort comes first; the holder is closed right after it
        await using var taken = await NewProvider().TryAcquireAsync(sessionId);
        taken.Should().NotBeNull("a provider whose listener broke lets its locks go");
        await using var next = await provider.TryAcquireAsync(AgentCoreIds.NewSessionId());
        next.Should().NotBeNull("the next lease opens new connections");
    }

    [Test]
    public async Task TryAcquireAsync_ListenerKilledWithAPooledDataSource_HolderSessionEndsAndItsLocksAreGone()
    {
        // The data source the store shares under UsePostgreSql: a holder given back to its pool would stay open, locked.
        await using var dataSource = NpgsqlDataSource.Create(_connectionString);
        var provider = new PostgreSqlSessionLockProvider(dataSource);
        _providers.Add(provider);
        string sessionId = AgentCoreIds.NewSessionId();
        await using var lease = await provider.TryAcquireAsync(sessionId);
        await using var second = await provider.TryAcquireAsync(AgentCoreIds.NewSessionId());
        var aborted = Signal(lease!.AbortRequested);
        int holderPid = (await HolderPidAsync(sessionId))!.Value;

        await TerminateListenerAsync();
        await aborted.WaitAsync(Bound);

        await WaitForAdvisoryLocksAsync(0);
        (await BackendExistsAsync(holderPid)).Should().BeFalse("closing the holder ends its server session");
    }

    [Test]
    public async Task TryAcquireAsync_DataSourcePoolOfOne_LockConnectionsTakeNothingFromThePool()
    {
        // The holder and the listener are the provider's own: a pool of one still serves the store (and, before, the
        // listener waited for the holder's pool slot until the connection timeout).
        var builder = new NpgsqlConnectionStringBuilder(_connectionString) { MaxPoolSize = 1, Timeout = 3 };
        await using var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        var provider = new PostgreSqlSessionLockProvider(dataSource);
        _providers.Add(provider);

        await using var lease = await provider.TryAcquireAsync(AgentCoreIds.NewSessionId());

        lease.Should().NotBeNull();
        await using var connection = await dataSource.OpenConnectionAsync();
        connection.State.Should().Be(System.Data.ConnectionState.Open);
    }

    [Test]
    public async Task TryAcquireAsync_HolderStopsAnswering_CheckTimesOutAndAbortsTheLease()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("The test stops a PostgreSQL backend with SIGSTOP, which needs Linux.");
        }

        // No command timeout: only the check's own timeout can notice a holder that stopped answering.
        var builder = new NpgsqlConnectionStringBuilder(_connectionString) { CommandTimeout = 0 };
        var time = new AgentCore.Tests.Shared.ObservedTimeProvider();
        var checkStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        time.TimerScheduled += due =>
        {
            if (due == PostgreSqlSessionLockProvider.CheckTimeout)
            {
                checkStarted.TrySetResult();
            }
        };
        var provider = new PostgreSqlSessionLockProvider(NpgsqlDataSource.Create(builder.ConnectionString), ownsDataSource: true, logger: null, time);
        _providers.Add(provider);
        string sessionId = AgentCoreIds.NewSessionId();
        await using var lease = await provider.TryAcquireAsync(sessionId);
        var aborted = Signal(lease!.AbortRequested);
        int holderPid = (await HolderPidAsync(sessionId))!.Value;
        await time.WaitForTimersAsync(1); // the check's delay

        await SignalBackendAsync(holderPid, "STOP");
        try
        {
            time.Advance(PostgreSqlSessionLockProvider.CheckInterval);
            await checkStarted.Task.WaitAsync(Bound);
            time.Advance(PostgreSqlSessionLockProvider.CheckTimeout);

            await aborted.WaitAsync(Bound);
        }
        finally
        {
            await SignalBackendAsync(holderPid, "CONT");
        }

        await using var next = await provider.TryAcquireAsync(AgentCoreIds.NewSessionId());
        next.Should().NotBeNull("the next lease opens new connections");
    }

    [Test]
    public async Task TryAcquireAsync_ProviderDisposed_ThrowsObjectDisposed()
    {
        await using var dataSource = NpgsqlDataSource.Create(_connectionString);
        var provider = new PostgreSqlSessionLockProvider(dataSource);
        await using (var lease = await provider.TryAcquireAsync(AgentCoreIds.NewSessionId()))
        {
            lease.Should().NotBeNull();
        }

        await provider.DisposeAsync();

        await FluentActions.Awaiting(() => provider.TryAcquireAsync(AgentCoreIds.NewSessionId()).AsTask())
            .Should().ThrowAsync<ObjectDisposedException>();
        (await AdvisoryLocksAsync()).Should().Be(0L);
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

    private async Task<long> AdvisoryLocksAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task TerminateListenerAsync()
    {
        await using var admin = new NpgsqlConnection(_connectionString);
        await admin.OpenAsync();
        await using var kill = new NpgsqlCommand(
            "SELECT pg_terminate_backend(pid, 60000) FROM pg_stat_activity WHERE query = 'LISTEN agentcore_session_abort' AND pid <> pg_backend_pid()", admin);
        (await kill.ExecuteScalarAsync()).Should().Be(true);
    }

    private async Task<bool> BackendExistsAsync(int pid)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", connection);
        command.Parameters.AddWithValue(pid);
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }

    /// <summary>Polls <c>pg_locks</c> (bounded) until the database holds <paramref name="count"/> advisory locks; the server frees a closed session's locks as it sees the close.</summary>
    private async Task WaitForAdvisoryLocksAsync(long count)
    {
        var deadline = DateTime.UtcNow + Bound;
        long now;
        while ((now = await AdvisoryLocksAsync()) != count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        now.Should().Be(count);
    }

    private static async Task SignalBackendAsync(int pid, string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        kill.ExitCode.Should().Be(0);
    }

    private static Task Signal(CancellationToken token)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        token.Register(() => signal.TrySetResult());
        return signal.Task;
    }
}
