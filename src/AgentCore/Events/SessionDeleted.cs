namespace AgentCore;

/// <summary>A session and its messages were deleted.</summary>
/// <param name="SessionId">The session.</param>
public sealed record SessionDeleted(string SessionId) : SessionEvent(SessionId);
