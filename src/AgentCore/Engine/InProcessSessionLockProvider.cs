using System.Collections.Concurrent;

namespace AgentCore;

/// <summary>
/// The default <see cref="ISessionLockProvider"/>: a fail-fast busy flag per session within this process.
/// </summary>
internal sealed class InProcessSessionLockProvider : ISessionLockProvider
{
    private readonly ConcurrentDictionary<string, Lease> _held = new(StringComparer.Ordinal);

    public ValueTask<ISessionLease?> TryAcquireAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var lease = new Lease(this, sessionId);
        return ValueTask.FromResult<ISessionLease?>(_held.TryAdd(sessionId, lease) ? lease : null);
    }

    public bool RequestAbort(string sessionId)
    {
        if (!_held.TryGetValue(sessionId, out var lease))
        {
            return false;
        }

        lease.Abort();
        return true;
    }

    private sealed class Lease(InProcessSessionLockProvider owner, string sessionId) : ISessionLease
    {
        private readonly CancellationTokenSource _abort = new();
        private int _released;

        public string SessionId => sessionId;

        public CancellationToken AbortRequested => _abort.Token;

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

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner._held.TryRemove(new KeyValuePair<string, Lease>(sessionId, this));
                _abort.Dispose();
            }

            return ValueTask.CompletedTask;
        }
    }
}
