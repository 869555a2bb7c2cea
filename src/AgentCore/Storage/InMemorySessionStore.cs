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
    // A stored message is a deep copy nobody else holds: a save replaces it (a part save changes its part list in place,
    // under the session's lock), a read copies it again under that lock.
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

        // Copied under the lock: a part save changes the stored message's part list in place.
        var messages = new List<SessionMessage>();
        lock (byId.Gate)
        {
            messages.EnsureCapacity(byId.ById.Count);
            foreach (var message in byId.ById.Values)
            {
                messages.Add(MessageCopies.Copy(message));
            }
        }

        messages.Sort(static (a, b) => string.CompareOrdinal(a.Id, b.Id));
        return ValueTask.FromResult<IReadOnlyList<SessionMessage>>(messages);
    }

    /// <inheritdoc />
    public ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateMessage(message);
        var copy = MessageCopies.Copy(message);
        var session = Messages(message.SessionId);
        lock (session.Gate)
        {
            StoreLocked(session, message.Id, copy);
        }

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
        Merge(message, [new MessagePartChange(part, appendedText)]);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>
    /// One update under the session's lock: a copy of the message's fields with copies of the changed parts; its other
    /// parts are taken from the stored message where it has them (already private copies), so only what changed is
    /// copied, and when the stored parts are the message's first ones the stored part list is updated in place rather
    /// than copied. A part the stored message lacks is copied too; a message not stored yet is copied whole.
    /// </remarks>
    public ValueTask SavePartsAsync(SessionMessage message, IReadOnlyList<MessagePartChange> changes, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateParts(message, changes);
        Merge(message, changes);
        return ValueTask.CompletedTask;
    }

    /// <summary>Stores <paramref name="message"/> with private copies of its changed parts and the stored copies of the others.</summary>
    private void Merge(SessionMessage message, IReadOnlyList<MessagePartChange> changes)
    {
        var session = Messages(message.SessionId);
        lock (session.Gate)
        {
            if (!session.ById.TryGetValue(message.Id, out var stored))
            {
                StoreLocked(session, message.Id, MessageCopies.Copy(message));
                return;
            }

            var storedParts = stored.Parts;
            if (MergeInPlace(storedParts, message.Parts, changes))
            {
                // The stored copy is this store's alone: its fields are updated where they are, as its part list was.
                MessageCopies.CopyFields(message, stored);
                Touch(session);
                return;
            }

            var parts = new List<MessagePart>(message.Parts.Count);
            int next = 0;
            for (int i = 0; i < message.Parts.Count; i++)
            {
                var current = message.Parts[i];
                bool changed = IsChanged(current, changes, ref next);
                parts.Add(!changed && i < storedParts.Count && string.Equals(storedParts[i].Id, current.Id, StringComparison.Ordinal)
                    ? storedParts[i]
                    : MessageCopies.Copy(current));
            }

            StoreLocked(session, message.Id, MessageCopies.WithParts(message, parts));
        }
    }

    /// <summary>
    /// The usual case of a part save, without copying the stored part list: when the stored parts are the message's first
    /// parts (the same ids, in order), the changed ones are replaced by copies and the message's new parts appended as
    /// copies, in the stored list itself. False, with nothing changed, when the stored parts are not such a prefix.
    /// </summary>
    private static bool MergeInPlace(List<MessagePart> stored, List<MessagePart> parts, IReadOnlyList<MessagePartChange> changes)
    {
        if (stored.Count > parts.Count)
        {
            return false;
        }

        for (int i = 0; i < stored.Count; i++)
        {
            if (!string.Equals(stored[i].Id, parts[i].Id, StringComparison.Ordinal))
            {
                return false;
            }
        }

        int storedCount = stored.Count;
        // Every copy is made before the stored list changes: a part that cannot be copied leaves the stored message as
        // it was. Indexed: enumerating the IReadOnlyList would box its enumerator per write.
        var copies = new (int Index, MessagePart Copy)[changes.Count + parts.Count - storedCount];
        int count = 0;
        for (int c = 0; c < changes.Count; c++)
        {
            var changed = changes[c].Part;
            // Changed parts are mostly the newest: search from the end.
            for (int i = storedCount - 1; i >= 0; i--)
            {
                if (ReferenceEquals(parts[i], changed))
                {
                    copies[count++] = (i, MessageCopies.Copy(changed));
                    break;
                }
            }
        }

        for (int i = storedCount; i < parts.Count; i++)
        {
            copies[count++] = (i, MessageCopies.Copy(parts[i]));
        }

        for (int k = 0; k < count; k++)
        {
            var (index, copy) = copies[k];
            if (index < storedCount)
            {
                stored[index] = copy;
            }
            else
            {
                stored.Add(copy);
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="part"/> is one of <paramref name="changes"/>; they come in the message's order, so the search starts at <paramref name="next"/>.</summary>
    private static bool IsChanged(MessagePart part, IReadOnlyList<MessagePartChange> changes, ref int next)
    {
        if (next < changes.Count && ReferenceEquals(changes[next].Part, part))
        {
            next++;
            return true;
        }

        for (int j = 0; j < changes.Count; j++)
        {
            if (ReferenceEquals(changes[j].Part, part))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc />
    public ValueTask<int> DeleteMessagesAsync(string sessionId, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateMessageIds(sessionId, messageIds);
        int deleted = 0;
        if (_messages.TryGetValue(sessionId, out var session))
        {
            lock (session.Gate)
            {
                foreach (string id in messageIds)
                {
                    deleted += session.ById.Remove(id) ? 1 : 0;
                }

                if (deleted > 0)
                {
                    Touch(session);
                }
            }
        }

        return ValueTask.FromResult(deleted);
    }

    /// <summary>A session's stored messages, added when it has none yet.</summary>
    private SessionMessages Messages(string sessionId) =>
        _messages.TryGetValue(sessionId, out var session) ? session : _messages.GetOrAdd(sessionId, static _ => new SessionMessages());

    /// <summary>Stores the private copy <paramref name="stored"/> of a message and stamps the session's messages; the caller holds the session's lock.</summary>
    private void StoreLocked(SessionMessages session, string messageId, SessionMessage stored)
    {
        session.ById[messageId] = stored;
        Touch(session);
    }

    /// <summary>Gives the session's messages a stamp no earlier state of them had: each write takes a number of its own.</summary>
    private void Touch(SessionMessages session) => Volatile.Write(ref session.Stamp, Interlocked.Increment(ref _writes));

    /// <summary>A session's stored messages by id, and their stamp (see <see cref="GetMessagesStampAsync"/>).</summary>
    private sealed class SessionMessages
    {
        /// <summary>The stored messages by id; read and written under <see cref="Gate"/>.</summary>
        public Dictionary<string, SessionMessage> ById { get; } = new(StringComparer.Ordinal);

        /// <summary>Taken by every read and write of the session's messages, so a part save never merges into a stale copy.</summary>
        public Lock Gate { get; } = new();

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
