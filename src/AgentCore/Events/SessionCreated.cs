namespace AgentCore;

/// <summary>A session was created.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Session">The new session.</param>
public sealed record SessionCreated(string SessionId, SessionInfo Session) : SessionEvent(SessionId);
