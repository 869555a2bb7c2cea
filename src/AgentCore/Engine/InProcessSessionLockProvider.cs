namespace AgentCore;

/// <summary>
/// The default <see cref="ISessionLockProvider"/>: a fail-fast busy flag per session within this process.
/// </summary>
internal sealed class InProcessSessionLockProvider : ISessionLockProvider
{
    private readonly SessionLeases _leases = new();

    public ValueTask<ISessionLease?> TryAcquireAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var lease = new Lease(_leases, sessionId);
        return ValueTask.FromResult<ISessionLease?>(_leases.TryAdd(lease) ? lease : null);
    }

    public ValueTask<bool> RequestAbortAsync(string sessionId, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_leases.TryAbort(sessionId));

    private sealed class Lease(SessionLeases leases, string sessionId) : SessionLease(leases, sessionId)
    {
        protected override ValueTask ReleaseLockAsync() => ValueTask.CompletedTask;
    }
}
