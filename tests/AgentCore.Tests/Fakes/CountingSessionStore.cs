using System.Collections.Concurrent;

namespace AgentCore.Tests.Fakes;

/// <summary>
/// A store decorator that counts the writes the engine makes, by kind, and its message reads; it passes the inner store's
/// messages stamp on only with <paramref name="stamps"/> (else it has none, and every turn reads the messages).
/// </summary>
internal sealed class CountingSessionStore(ISessionStore inner, bool stamps = false) : ISessionStore
{
    private int _savePart;
    private int _saveParts;
    private int _saveMessage;
    private int _reads;

    public ISessionStore Inner { get; } = inner;

    public int SavePartCalls => Volatile.Read(ref _savePart);

    public int SaveMessageCalls => Volatile.Read(ref _saveMessage);

    /// <summary>The <see cref="SavePartsAsync"/> calls (each also puts its changes in <see cref="PartWrites"/>).</summary>
    public int SavePartsCalls => Volatile.Read(ref _saveParts);

    public int MessageReads => Volatile.Read(ref _reads);

    /// <summary>Every part written by <see cref="SavePartAsync"/> or <see cref="SavePartsAsync"/>: its type and the appended text (null for a whole part).</summary>
    public ConcurrentQueue<(Type Part, string? Appended)> PartWrites { get; } = new();

    public ValueTask<SessionInfo?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        Inner.GetSessionAsync(sessionId, cancellationToken);

    public IAsyncEnumerable<SessionInfo> ListSessionsAsync(CancellationToken cancellationToken = default) =>
        Inner.ListSessionsAsync(cancellationToken);

    public ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default) =>
        Inner.SaveSessionAsync(session, cancellationToken);

    public ValueTask<bool> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        Inner.DeleteSessionAsync(sessionId, cancellationToken);

    public ValueTask<SessionInfo?> UpdateSessionAsync(string sessionId, Func<SessionInfo, SessionInfo> update, CancellationToken cancellationToken = default) =>
        Inner.UpdateSessionAsync(sessionId, update, cancellationToken);

    public ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _reads);
        return Inner.GetMessagesAsync(sessionId, cancellationToken);
    }

    public ValueTask<int> DeleteMessagesAsync(string sessionId, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken = default) =>
        Inner.DeleteMessagesAsync(sessionId, messageIds, cancellationToken);

    public ValueTask<string?> GetMessagesStampAsync(string sessionId, CancellationToken cancellationToken = default) =>
        stamps ? Inner.GetMessagesStampAsync(sessionId, cancellationToken) : ValueTask.FromResult<string?>(null);

    public ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _saveMessage);
        return Inner.SaveMessageAsync(message, cancellationToken);
    }

    public ValueTask SavePartAsync(SessionMessage message, MessagePart part, string? appendedText = null, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _savePart);
        PartWrites.Enqueue((part.GetType(), appendedText));
        return Inner.SavePartAsync(message, part, appendedText, cancellationToken);
    }

    public ValueTask SavePartsAsync(SessionMessage message, IReadOnlyList<MessagePartChange> changes, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _saveParts);
        foreach (var change in changes)
        {
            PartWrites.Enqueue((change.Part.GetType(), change.AppendedText));
        }

        return Inner.SavePartsAsync(message, changes, cancellationToken);
    }
}
