using AgentCore.Testing;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

public sealed class SqliteSessionLockProviderTests
{
    private string _directory = null!;
    private readonly List<IAsyncDisposable> _disposables = [];

    private string DatabasePath => Path.Combine(_directory, "agentcore.db");

    [SetUp]
    public void CreateDirectory() =>
        _directory = Path.Combine(Path.GetTempPath(), "agentcore-sqlite-lock-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public async Task CleanUp()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public async Task TryAcquireAsync_Free_ReturnsLeaseForTheSession()
    {
        var provider = NewProvider();
        string sessionId = AgentCoreIds.NewSessionId();

        await using var lease = await provider.TryAcquireAsync(sessionId);

        lease.Should().NotBeNull();
        lease!.SessionId.Should().Be(sessionId);
        lease.AbortRequested.IsCancellationRequested.Should().BeFalse();
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
    public async Task TryAcquireAsync_HeldByAnotherProviderOnTheFile_ReturnsNull()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        await using var first = await NewProvider().TryAcquireAsync(sessionId);

        (await NewProvider().TryAcquireAsync(sessionId)).Should().BeNull();
    }

    [Test]
    public async Task TryAcquireAsync_OtherSession_NotBlocked()
    {
        var provider = NewProvider();
        await using var first = await provider.TryAcquireAsync(AgentCoreIds.NewSessionId());

        await using var second = await NewProvider().TryAcquireAsync(AgentCoreIds.NewSessionId());

        second.Should().NotBeNull();
    }

    [Test]
    public async Task DisposeAsync_Lease_ReleasesTheLockForOthers()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var first = await NewProvider().TryAcquireAsync(sessionId);
        await first!.DisposeAsync();

        await using var second = await NewProvider().TryAcquireAsync(sessionId);

        second.Should().NotBeNull();
    }

    [Test]
    public async Task DisposeAsync_Provider_ReleasesItsLeases()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var provider = new SqliteSessionLockProvider(DatabasePath);
        (await provider.TryAcquireAsync(sessionId)).Should().NotBeNull();

        await provider.DisposeAsync();

        await using var again = await NewProvider().TryAcquireAsync(sessionId);
        again.Should().NotBeNull();
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
    public async Task RequestAbort_HolderInAnotherProvider_CancelsAtItsNextPoll()
    {
        var time = new ManualTimeProvider();
        var holder = NewProvider(time);
        string sessionId = AgentCoreIds.NewSessionId();
        await using var lease = await holder.TryAcquireAsync(sessionId);
        time.Advance(PollInterval);
        lease!.AbortRequested.IsCancellationRequested.Should().BeFalse();

        NewProvider().RequestAbort(sessionId).Should().BeTrue();
        time.Advance(PollInterval);

        lease.AbortRequested.IsCancellationRequested.Should().BeTrue();
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
        provider.RequestAbort(sessionId).Should().BeFalse();
    }

    [Test]
    public async Task TryAcquireAsync_AbortRequestedBeforeAcquiring_NewLeaseNotAborted()
    {
        var time = new ManualTimeProvider();
        string sessionId = AgentCoreIds.NewSessionId();
        var other = NewProvider(new ManualTimeProvider()); // its lease never polls, so the marker stays
        var earlier = await other.TryAcquireAsync(sessionId);
        NewProvider().RequestAbort(sessionId).Should().BeTrue(); // reaches the earlier holder's folder, but it leaves unaborted
        await earlier!.DisposeAsync();

        await using var lease = await NewProvider(time).TryAcquireAsync(sessionId);
        time.Advance(PollInterval);

        lease!.AbortRequested.IsCancellationRequested.Should().BeFalse();
    }

    [Test]
    public async Task AllMethods_InvalidSessionId_ThrowArgumentExceptionNamingIt()
    {
        var provider = NewProvider();
        foreach (string bad in new[] { "../ses_x", "ses_a/b", "ses_../../etc" })
        {
            await FluentActions.Awaiting(() => provider.TryAcquireAsync(bad).AsTask())
                .Should().ThrowAsync<ArgumentException>().WithMessage($"*{bad}*");
            FluentActions.Invoking(() => provider.RequestAbort(bad))
                .Should().Throw<ArgumentException>().WithMessage($"*{bad}*");
        }

        Directory.Exists(Path.Combine(_directory, "etc")).Should().BeFalse();
    }

    private static TimeSpan PollInterval => new SqliteStoreOptions().AbortPollInterval;

    private SqliteSessionLockProvider NewProvider(TimeProvider? time = null)
    {
        var provider = new SqliteSessionLockProvider(DatabasePath, time);
        _disposables.Add(provider);
        return provider;
    }
}
