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
    private readonly ConcurrentDictionary<string, SessionMessages> _messages = new(StringComparer.Ordinal);
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

        var stored = byId.ById.ToArray();
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
        Store(message, MessageCopies.Copy(message));
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>A number that grows with every message saved or deleted in this store instance.</remarks>
    public ValueTask<string?> GetMessagesStampAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        long stamp = _messages.TryGetValue(sessionId, out var stored) ? Volatile.Read(ref stored.Stamp) : 0;
        return ValueTask.FromResult<string?>(stamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <inheritdoc />
    /// <remarks>
    /// Validates the part's id, then stores a copy of the message's fields with a copy of <paramref name="part"/>; the
    /// message's other parts are taken from the stored message where it has them (already private copies, as saved
    /// before), as a durable store writes only the part. A part the stored message lacks is copied too.
    /// </remarks>
    public ValueTask SavePartAsync(SessionMessage message, MessagePart part, string? appendedText = null, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidatePart(message, part);
        if (!_messages.TryGetValue(message.SessionId, out var session) || !session.ById.TryGetValue(message.Id, out var stored))
        {
            return SaveMessageAsync(message, cancellationToken);
        }

        var parts = new List<MessagePart>(message.Parts.Count);
        for (int i = 0; i < message.Parts.Count; i++)
        {
            var current = message.Parts[i];
            parts.Add(!ReferenceEquals(current, part) && i < stored.Parts.Count && string.Equals(stored.Parts[i].Id, current.Id, StringComparison.Ordinal)
                ? stored.Parts[i]
                : MessageCopies.Copy(current));
        }

        Store(message, MessageCopies.WithParts(message, parts));
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<int> DeleteMessagesAsync(string sessionId, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateMessageIds(sessionId, messageIds);
        int deleted = 0;
        if (_messages.TryGetValue(sessionId, out var session))
        {
            foreach (string id in messageIds)
            {
                deleted += session.ById.TryRemove(id, out _) ? 1 : 0;
            }

            if (deleted > 0)
            {
                Touch(session);
            }
        }

        return ValueTask.FromResult(deleted);
    }

    /// <summary>Stores the copy <paramref name="stored"/> of <paramref name="message"/>, and stamps the session's messages.</summary>
    private void Store(SessionMessage message, SessionMessage stored)
    {
        var session = _messages.GetOrAdd(message.SessionId, static _ => new SessionMessages());
        session.ById[message.Id] = stored;
        Touch(session);
    }

    /// <summary>Gives the session's messages a stamp no earlier state of them had: each write takes a number of its own.</summary>
    private void Touch(SessionMessages session) => Volatile.Write(ref session.Stamp, Interlocked.Increment(ref _writes));

    /// <summary>A session's stored messages by id, and their stamp (see <see cref="GetMessagesStampAsync"/>).</summary>
    private sealed class SessionMessages
    {
        public ConcurrentDictionary<string, SessionMessage> ById { get; } = new(StringComparer.Ordinal);

        public long Stamp;
    }

    /// <summary>The session as stored: its metadata copied into a dictionary nobody else holds or can change.</summary>
    private static SessionInfo Stored(SessionInfo session) => session with
    {
        Metadata = session.Metadata is null or { Count: 0 }
            ? System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty
            : new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(new Dictionary<string, string>(session.Metadata, StringComparer.Ordinal)),
    };
}
