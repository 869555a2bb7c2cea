namespace AgentCore;

/// <summary>
/// Thrown without waiting, and before anything is changed, when a turn (or another operation that takes the session's
/// lock: a summary, a delete, a fork, a revert) is started on a session that is already running one, in this process or,
/// with a cross-instance lock, in another. <see cref="ISessionService.ChatStreamingAsync"/> throws it when its enumeration
/// starts, not when it is called.
/// </summary>
public sealed class SessionBusyException : AgentCoreException
{
    /// <summary>Creates the exception for <paramref name="sessionId"/>.</summary>
    /// <param name="sessionId">The busy session.</param>
    public SessionBusyException(string sessionId)
        : base($"Session '{sessionId}' is busy with another turn. Wait for it to finish or abort it.") => SessionId = sessionId;

    /// <summary>The busy session.</summary>
    public string SessionId { get; }
}
