namespace AgentCore;

/// <summary>Thrown when a session id names no stored session.</summary>
public sealed class SessionNotFoundException : AgentCoreException
{
    /// <summary>Creates the exception for <paramref name="sessionId"/>.</summary>
    /// <param name="sessionId">The id that names no session.</param>
    public SessionNotFoundException(string sessionId)
        : base($"Session '{sessionId}' was not found.") => SessionId = sessionId;

    /// <summary>The id that was looked up.</summary>
    public string SessionId { get; }
}
