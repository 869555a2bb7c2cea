namespace AgentCore;

/// <summary>A tool call changed state (pending, running, completed, error).</summary>
/// <param name="SessionId">The session.</param>
/// <param name="MessageId">The assistant message holding the call.</param>
/// <param name="Part">The tool part (a snapshot).</param>
public sealed record ToolCallUpdated(string SessionId, string MessageId, ToolPart Part) : SessionEvent(SessionId);
