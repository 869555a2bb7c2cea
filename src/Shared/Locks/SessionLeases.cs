using System.Collections.Concurrent;

namespace AgentCore;

/// <summary>The leases a lock provider holds, by session: an abort of a local holder, and the release of all on disposal.</summary>
/// <remarks>Linked source (<c>src/Shared/Locks</c>).</remarks>
internal sealed class SessionLeases
{
    /// <summary>The held leases by session id; a lease removes itself when released.</summary>
    internal ConcurrentDictionary<string, SessionLease> Held { get; } = new(StringComparer.Ordinal);

    /// <summary>Registers <paramref name="lease"/>; false when the session already has one here (the in-process lock itself).</summary>
    public bool TryAdd(SessionLease lease) => Held.TryAdd(lease.SessionId, lease);

    /// <summary>Registers <paramref name="lease"/>, which holds a lock of its own (a file, a database lock).</summary>
    public void Add(SessionLease lease) => Held[lease.SessionId] = lease;

    /// <summary>Aborts the lease of <paramref name="sessionId"/> held here; false when there is none.</summary>
    public bool TryAbort(string sessionId)
    {
        if (!Held.TryGetValue(sessionId, out var lease))
        {
            return false;
        }

        lease.Abort();
        return true;
    }

    /// <summary>Releases every lease still held here.</summary>
    public async ValueTask ReleaseAllAsync()
    {
        foreach (var lease in Held.Values)
        {
            await lease.DisposeAsync().ConfigureAwait(false);
        }
    }
}
