using System.Collections.Concurrent;

namespace AgentCore.Tests.Fakes;

/// <summary>A store decorator that counts the writes the engine makes, by kind.</summary>
internal sealed class CountingSessionStore(ISessionStore inner) : ISessionStore
{
    private int _savePart;
    private int _saveMessage;

    public ISessionStore Inner { get; } = inner;

    public int SavePartCalls => Volatile.Read(ref _savePart);

    public int SaveMessageCalls => Volatile.Read(ref _saveMessage);

    /// <summary>Every <see cref="SavePartAsync"/> call: the part's type and the appended text (null for a whole part).</summary>
    public ConcurrentQueue<(Type Part, string? Appended)> PartWrites { get; } = new();

    public ValueTask<SessionInfo?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        Inner.GetSessionAsync(sessionId, cancellationToken);

    public IAsyncEnumerable<SessionInfo> ListSessionsAsync(CancellationToken cancellationToken = default) =>
        Inner.ListSessionsAsync(cancellationToken);

    public ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default) =>
        Inner.SaveSessionAsync(session, cancellationToken);

    public ValueTask<bool> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        Inner.DeleteSessionAsync(sessionId, cancellationToken);

    public ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default) =>
        Inner.GetMessagesAsync(sessionId, cancellationToken);

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
}
