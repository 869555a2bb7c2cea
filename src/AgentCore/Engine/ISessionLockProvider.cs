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
    /// <param name="sessionId">The session (a valid session id).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The lease, or null when the lock is held elsewhere.</returns>
    ValueTask<ISessionLease?> TryAcquireAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Asks the holder of a session's lock to abort its turn, wherever it runs: its lease's
    /// <see cref="ISessionLease.AbortRequested"/> fires.
    /// </summary>
    /// <param name="sessionId">The session whose turn to abort.</param>
    /// <param name="cancellationToken">Cancels the request (a provider that asks over the network stops waiting).</param>
    /// <returns>Whether a holder was known (and asked); false when nobody holds the lock.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a well-formed session id.</exception>
    ValueTask<bool> RequestAbortAsync(string sessionId, CancellationToken cancellationToken = default);
}
