using System.Collections.Concurrent;

namespace AgentCore;

/// <summary>
/// What every <see cref="ISessionLease"/> of AgentCore's lock providers does alike: the abort signal (kept readable after
/// release), an abort that tolerates a lease released meanwhile, and a release that runs once and leaves the provider's
/// <see cref="SessionLeases"/>. A provider's lease adds only how its lock is held and let go.
/// </summary>
/// <remarks>Linked source (<c>src/Shared/Locks</c>), compiled into each package that has a lock provider as an internal type.</remarks>
internal abstract class SessionLease : ISessionLease
{
    private readonly CancellationTokenSource _abort = new();
    private readonly ConcurrentDictionary<string, SessionLease> _held;
    private int _released;

    /// <summary>Creates the lease of <paramref name="sessionId"/>, registered in <paramref name="leases"/> by the provider.</summary>
    protected SessionLease(SessionLeases leases, string sessionId)
    {
        _held = leases.Held;
        SessionId = sessionId;
        AbortRequested = _abort.Token;
    }

    /// <inheritdoc />
    public string SessionId { get; }

    /// <inheritdoc />
    /// <remarks>Kept from the start, so reading it after the lease is released does not throw.</remarks>
    public CancellationToken AbortRequested { get; }

    /// <summary>Whether the lease has been released.</summary>
    protected bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>Fires <see cref="AbortRequested"/>; nothing when the lease was released meanwhile.</summary>
    public void Abort()
    {
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Released in the meantime: nothing left to abort.
        }
    }

    /// <summary>Releases the lock, once: the lease leaves its provider, then <see cref="ReleaseLockAsync"/> lets the lock go.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        _held.TryRemove(new KeyValuePair<string, SessionLease>(SessionId, this));
        try
        {
            await ReleaseLockAsync().ConfigureAwait(false);
        }
        finally
        {
            _abort.Dispose();
        }
    }

    /// <summary>Lets the lock go (close the file, unlock and close the connection); called once.</summary>
    protected abstract ValueTask ReleaseLockAsync();
}
