namespace AgentCore;

/// <summary>A model call failed with a transient error and will be retried after <paramref name="Delay"/>.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Attempt">The 1-based retry number.</param>
/// <param name="Delay">How long the engine waits before retrying.</param>
/// <param name="Reason">What failed (no message content, no secrets).</param>
public sealed record Retrying(string SessionId, int Attempt, TimeSpan Delay, string Reason) : SessionEvent(SessionId);
