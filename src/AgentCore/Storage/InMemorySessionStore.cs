using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using AgentCore.Storage;

namespace AgentCore;

/// <summary>
/// An <see cref="ISessionStore"/> that keeps everything in memory, for tests and throwaway sessions.
/// </summary>
/// <remarks>
/// Records are kept as private copies (a session is immutable once its metadata is copied; a message is copied deeply
/// when saved and again when read), so changing what a caller saved or read back changes nothing stored, exactly as with
/// a durable store. Ids are validated the same way.
/// </remarks>
public sealed class InMemorySessionStore : ISessionStore
{
    private readonly ConcurrentDictionary<string, SessionInfo> _sessions = new(StringComparer.Ordinal);
    // A stored message is a deep copy that is never changed: a save replaces it, a read copies it again.
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, SessionMessage>> _messages = new(StringComparer.Ordinal);
    // The stamp of each session's messages: the store-wide count of message writes when the session's were last changed.
    private readonly ConcurrentDictionary<string, long> _stamps = new(StringComparer.Ordinal);
    private long _writes;

    /// <inheritdoc />
    public ValueTask<SessionInfo?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        return ValueTask.FromResult(_sessions.TryGetValue(sessionId, out var session) ? session : null);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SessionInfo> ListSessionsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var sessions = _sessions.Values.ToList();
        sessions.Sort(SessionOrder.NewestFirst);
        foreach (var session in sessions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return session;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateSession(session);
        _sessions[session.Id] = Stored(session);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>Atomic: a compare-and-swap, so <paramref name="update"/> runs again when another update came first.</remarks>
    public ValueTask<SessionInfo?> UpdateSessionAsync(string sessionId, Func<SessionInfo, SessionInfo> update, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        ArgumentNullException.ThrowIfNull(update);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!_sessions.TryGetValue(sessionId, out var current))
            {
                return ValueTask.FromResult<SessionInfo?>(null);
            }

            if (StoredRecords.ApplyUpdate(current, update) is not { } changed)
            {
                return ValueTask.FromResult<SessionInfo?>(current);
            }

            var stored = Stored(changed);
            if (_sessions.TryUpdate(sessionId, stored, current))
            {
                return ValueTask.FromResult<SessionInfo?>(stored);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        bool removedSession = _sessions.TryRemove(sessionId, out _);
        bool removedMessages = _messages.TryRemove(sessionId, out _);
        Touch(sessionId);
        return ValueTask.FromResult(removedSession || removedMessages);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        if (!_messages.TryGetValue(sessionId, out var byId))
        {
            return ValueTask.FromResult<IReadOnlyList<SessionMessage>>([]);
        }

        var stored = byId.ToArray();
        Array.Sort(stored, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var messages = new List<SessionMessage>(stored.Length);
        foreach (var (_, message) in stored)
        {
            messages.Add(MessageCopies.Copy(message));
        }

        return ValueTask.FromResult<IReadOnlyList<SessionMessage>>(messages);
    }

    /// <inheritdoc />
    public ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateMessage(message);
        var byId = _messages.GetOrAdd(message.SessionId, static _ => new(StringComparer.Ordinal));
        byId[message.Id] = MessageCopies.Copy(message);
        Touch(message.SessionId);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>A number that grows with every message saved or deleted in this store instance.</remarks>
    public ValueTask<string?> GetMessagesStampAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        long stamp = _stamps.TryGetValue(sessionId, out long written) ? written : 0;
        return ValueTask.FromResult<string?>(stamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <inheritdoc />
    /// <remarks>Validates the part's id, then saves the whole message (a copy of its fields, without serializing).</remarks>
    public ValueTask SavePartAsync(SessionMessage message, MessagePart part, string? appendedText = null, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidatePart(message, part);
        return SaveMessageAsync(message, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<int> DeleteMessagesAsync(string sessionId, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateMessageIds(sessionId, messageIds);
        int deleted = 0;
        if (_messages.TryGetValue(sessionId, out var byId))
        {
            foreach (string id in messageIds)
            {
                deleted += byId.TryRemove(id, out _) ? 1 : 0;
            }
        }

        if (deleted > 0)
        {
            Touch(sessionId);
        }

        return ValueTask.FromResult(deleted);
    }

    /// <summary>Gives the session's messages a stamp no earlier state of them had (stamps only grow).</summary>
    private void Touch(string sessionId) => _stamps[sessionId] = Interlocked.Increment(ref _writes);

    /// <summary>The session as stored: its metadata copied into a dictionary nobody else holds or can change.</summary>
    private static SessionInfo Stored(SessionInfo session) => session with
    {
        Metadata = session.Metadata is null or { Count: 0 }
            ? System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty
            : new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(new Dictionary<string, string>(session.Metadata, StringComparer.Ordinal)),
    };
}
