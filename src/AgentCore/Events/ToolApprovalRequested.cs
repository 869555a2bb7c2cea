namespace AgentCore;

/// <summary>
/// A tool call needs a person's approval before it runs. The call is stored as <see cref="ToolState.AwaitingApproval"/>
/// and the turn ends with <see cref="ExitReason.AwaitingApproval"/>. Continue the session with
/// <c>ChatStreamingAsync(new ChatRequest { SessionId = ..., Contents = [Request.CreateResponse(approved, reason)] })</c>,
/// at any later time and from any process sharing the store.
/// </summary>
/// <param name="SessionId">The session.</param>
/// <param name="MessageId">The assistant message holding the call.</param>
/// <param name="Part">The tool part (a snapshot).</param>
/// <param name="Request">The approval request; its <see cref="Microsoft.Extensions.AI.InputRequestContent.RequestId"/> is the call id.</param>
public sealed record ToolApprovalRequested(string SessionId, string MessageId, ToolPart Part, Microsoft.Extensions.AI.ToolApprovalRequestContent Request)
    : SessionEvent(SessionId);
