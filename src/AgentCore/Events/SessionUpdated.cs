namespace AgentCore;

/// <summary>A session changed (title, metadata, totals).</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Session">The session as it is now.</param>
public sealed record SessionUpdated(string SessionId, SessionInfo Session) : SessionEvent(SessionId);
