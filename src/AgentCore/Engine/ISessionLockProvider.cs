namespace AgentCore;

/// <summary>
/// The per-session busy lock. The default is in-process; a store package can supply one that holds
/// across app instances (for example PostgreSQL advisory locks).
/// </summary>
public interface ISessionLockProvider
{
    /// <summary>
    /// Takes the lock of a session without waiting. Returns null when another turn holds it.
    /// Dispose the lease to release the lock.
    /// </summary>
    ValueTask<ISessionLease?> TryAcquireAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Asks the holder of a session's lock to abort its turn, wherever it runs.
    /// Returns false when no holder is known.
    /// </summary>
    bool RequestAbort(string sessionId);
}

/// <summary>A held session lock.</summary>
public interface ISessionLease : IAsyncDisposable
{
    /// <summary>The locked session.</summary>
    string SessionId { get; }

    /// <summary>Cancelled when <see cref="ISessionLockProvider.RequestAbort"/> is called for the session.</summary>
    CancellationToken AbortRequested { get; }
}
