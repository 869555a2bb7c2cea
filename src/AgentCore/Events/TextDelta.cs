namespace AgentCore;

/// <summary>The model streamed more text.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="MessageId">The assistant message being written.</param>
/// <param name="PartId">The text part the delta is appended to.</param>
/// <param name="Text">The new text.</param>
public sealed record TextDelta(string SessionId, string MessageId, string PartId, string Text) : SessionEvent(SessionId);
