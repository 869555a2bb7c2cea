namespace AgentCore.Tests.Storage;

/// <summary>
/// A store that implements only the required members of <see cref="ISessionStore"/> and keeps every default: a
/// third-party store written before the optional members existed.
/// </summary>
internal sealed class MinimalStore(ISessionStore inner) : ISessionStore
{
    public ValueTask<SessionInfo?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) => inner.GetSessionAsync(sessionId, cancellationToken);

    public IAsyncEnumerable<SessionInfo> ListSessionsAsync(CancellationToken cancellationToken = default) => inner.ListSessionsAsync(cancellationToken);

    public ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default) => inner.SaveSessionAsync(session, cancellationToken);

    public ValueTask<bool> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default) => inner.DeleteSessionAsync(sessionId, cancellationToken);

    public ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default) => inner.GetMessagesAsync(sessionId, cancellationToken);

    public ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default) => inner.SaveMessageAsync(message, cancellationToken);
}
