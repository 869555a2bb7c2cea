namespace AgentCore;

/// <summary>A message was created or changed and persisted.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Message">The message as persisted (a snapshot: later changes do not show in it).</param>
public sealed record MessageUpdated(string SessionId, SessionMessage Message) : SessionEvent(SessionId);
