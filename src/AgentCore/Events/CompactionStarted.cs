namespace AgentCore;

/// <summary>Compaction of the session's context started.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="TokensBefore">The estimated prompt tokens before compaction.</param>
public sealed record CompactionStarted(string SessionId, long TokensBefore) : SessionEvent(SessionId);
