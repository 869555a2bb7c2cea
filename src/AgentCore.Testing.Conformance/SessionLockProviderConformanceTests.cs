using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Testing;

/// <summary>
/// The conformance suite of a cross-instance <see cref="ISessionLockProvider"/>: derive a non-abstract NUnit fixture and
/// override <see cref="CreateProvider"/> so that every call returns a new provider instance over the same shared state
/// (the same database or file), as separate app instances would have.
/// </summary>
/// <remarks>
/// What the suite holds a provider to: a free session's lock is granted at once with a lease naming the session and not
/// aborted; a held lock is refused at once (null), by the same instance and by any other; other sessions are not blocked;
/// disposing a lease (or the provider, when it is disposable) frees the lock for every instance; <see cref="ISessionLockProvider.RequestAbortAsync"/>
/// cancels a holder's <see cref="ISessionLease.AbortRequested"/> in the same instance at once and returns false when nobody
/// holds the lock; malformed ids are rejected with an <see cref="ArgumentException"/> naming the value. How an abort
/// travels between instances is the provider's own business: test it in the derived fixture.
/// </remarks>
public abstract class SessionLockProviderConformanceTests
{
    private readonly List<ISessionLockProvider> _created = [];

    /// <summary>A new provider instance over this test's shared state. Called several times per test.</summary>
    /// <returns>The provider; the suite disposes it.</returns>
    protected abstract ISessionLockProvider CreateProvider();

    /// <summary>Removes this test's shared state (called after the providers are disposed). Default: nothing.</summary>
    /// <returns>A task that completes when the state is removed.</returns>
    protected virtual ValueTask CleanUpAsync() => ValueTask.CompletedTask;

    /// <summary>Disposes every provider the test created, then calls <see cref="CleanUpAsync"/>.</summary>
    [TearDown]
    public async Task DisposeProvidersAsync()
    {
        foreach (var provider in _created)
        {
            await Disposal.DisposeAsync(provider).ConfigureAwait(false);
        }

        _created.Clear();
        await CleanUpAsync().ConfigureAwait(false);
    }

    /// <summary>A free lock is granted at once, to a lease that names the session and is not aborted.</summary>
    [Test]
    public async Task TryAcquireAsync_Free_ReturnsLeaseForTheSession()
    {
        string sessionId = AgentCoreIds.NewSessionId();

        await using var lease = await NewProvider().TryAcquireAsync(sessionId);

        lease.Should().NotBeNull();
        lease!.SessionId.Should().Be(sessionId);
        lease.AbortRequested.IsCancellationRequested.Should().BeFalse();
    }

    /// <summary>The same instance refuses a lock it holds.</summary>
    [Test]
    public async Task TryAcquireAsync_HeldBySameProvider_ReturnsNull()
    {
        var provider = NewProvider();
        string sessionId = AgentCoreIds.NewSessionId();
        await using var first = await provider.TryAcquireAsync(sessionId);

        (await provider.TryAcquireAsync(sessionId)).Should().BeNull();
    }

    /// <summary>Another instance refuses a held lock, without waiting for it.</summary>
    [Test]
    public async Task TryAcquireAsync_HeldByAnotherProvider_ReturnsNull()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        await using var first = await NewProvider().TryAcquireAsync(sessionId);

        (await NewProvider().TryAcquireAsync(sessionId)).Should().BeNull();
    }

    /// <summary>Holding one session's lock blocks no other session.</summary>
    [Test]
    public async Task TryAcquireAsync_OtherSession_NotBlocked()
    {
        await using var first = await NewProvider().TryAcquireAsync(AgentCoreIds.NewSessionId());

        await using var second = await NewProvider().TryAcquireAsync(AgentCoreIds.NewSessionId());

        first.Should().NotBeNull();
        second.Should().NotBeNull();
    }

    /// <summary>Disposing a lease frees the lock for every instance.</summary>
    [Test]
    public async Task DisposeAsync_Lease_ReleasesTheLockForOthers()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var first = await NewProvider().TryAcquireAsync(sessionId);
        first.Should().NotBeNull();
        await first!.DisposeAsync();

        await using var second = await NewProvider().TryAcquireAsync(sessionId);

        second.Should().NotBeNull();
    }

    /// <summary>Disposing a provider frees the locks its leases held (for providers that are disposable).</summary>
    [Test]
    public async Task DisposeAsync_Provider_ReleasesItsLeases()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var provider = CreateProvider();
        if (provider is not (IAsyncDisposable or IDisposable))
        {
            Assert.Ignore($"{provider.GetType().Name} is not disposable.");
        }

        (await provider.TryAcquireAsync(sessionId)).Should().NotBeNull();

        await Disposal.DisposeAsync(provider);

        await using var again = await NewProvider().TryAcquireAsync(sessionId);
        again.Should().NotBeNull();
    }

    /// <summary>An abort requested through the instance holding the lock cancels the lease at once.</summary>
    [Test]
    public async Task RequestAbortAsync_HolderInSameProvider_CancelsAtOnce()
    {
        var provider = NewProvider();
        string sessionId = AgentCoreIds.NewSessionId();
        await using var lease = await provider.TryAcquireAsync(sessionId);

        (await provider.RequestAbortAsync(sessionId)).Should().BeTrue();

        lease!.AbortRequested.IsCancellationRequested.Should().BeTrue();
    }

    /// <summary>With nobody holding the lock (never, or no longer), an abort reaches no one and says so.</summary>
    [Test]
    public async Task RequestAbortAsync_NobodyHoldsTheLock_ReturnsFalse()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var provider = NewProvider();
        (await provider.RequestAbortAsync(sessionId)).Should().BeFalse();
        var lease = await provider.TryAcquireAsync(sessionId);
        await lease!.DisposeAsync();

        (await NewProvider().RequestAbortAsync(sessionId)).Should().BeFalse();
        (await provider.RequestAbortAsync(sessionId)).Should().BeFalse();
    }

    /// <summary>Malformed ids never reach the shared state: an <see cref="ArgumentException"/> names them.</summary>
    [Test]
    public async Task AllMethods_InvalidSessionId_ThrowArgumentExceptionNamingIt()
    {
        var provider = NewProvider();
        foreach (string bad in new[] { "../ses_x", "ses_a/b", "ses_../../etc", "msg_not_a_session" })
        {
            await FluentActions.Awaiting(() => provider.TryAcquireAsync(bad).AsTask())
                .Should().ThrowAsync<ArgumentException>().WithMessage($"*{bad}*");
            await FluentActions.Awaiting(() => provider.RequestAbortAsync(bad).AsTask())
                .Should().ThrowAsync<ArgumentException>().WithMessage($"*{bad}*");
        }
    }

    private ISessionLockProvider NewProvider()
    {
        var provider = CreateProvider();
        _created.Add(provider);
        return provider;
    }
}
