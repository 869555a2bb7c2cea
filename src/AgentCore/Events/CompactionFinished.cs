namespace AgentCore;

/// <summary>Compaction of the session's context finished.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="TokensBefore">The estimated prompt tokens before compaction.</param>
/// <param name="TokensAfter">The estimated prompt tokens after compaction.</param>
public sealed record CompactionFinished(string SessionId, long TokensBefore, long TokensAfter) : SessionEvent(SessionId);
