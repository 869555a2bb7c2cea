namespace AgentCore;

/// <summary>The model streamed more reasoning.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="MessageId">The assistant message being written.</param>
/// <param name="PartId">The reasoning part the delta is appended to.</param>
/// <param name="Text">The new reasoning text.</param>
public sealed record ReasoningDelta(string SessionId, string MessageId, string PartId, string Text) : SessionEvent(SessionId);
