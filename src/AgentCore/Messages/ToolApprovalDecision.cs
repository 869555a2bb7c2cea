namespace AgentCore;

/// <summary>How a person answered a tool call that needed approval (see <see cref="ToolState.AwaitingApproval"/>).</summary>
public sealed class ToolApprovalDecision
{
    /// <summary>Whether the call was approved (it ran) or rejected (the model was told it was not run, and why).</summary>
    public bool Approved { get; set; }

    /// <summary>The reason given with the answer, if any; for a rejection the model sees it.</summary>
    public string? Reason { get; set; }

    /// <summary>When the answer was applied (UTC).</summary>
    public DateTimeOffset AnsweredAt { get; set; }
}
