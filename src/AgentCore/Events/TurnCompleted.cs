namespace AgentCore;

/// <summary>The turn ended. Always the last event of a turn, whatever the outcome.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Message">The completed assistant message (with <see cref="SessionMessage.Error"/> when it failed).</param>
/// <param name="ExitReason">Why the turn ended; its <see cref="AgentCore.ExitReason.Value"/> is the usage history's <c>exit_reason</c>.</param>
public sealed record TurnCompleted(string SessionId, SessionMessage Message, ExitReason ExitReason) : SessionEvent(SessionId);
