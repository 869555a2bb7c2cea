namespace AgentCore;

/// <summary>Marks the start of a model call (a step) within an assistant message.</summary>
public sealed class StepStartPart : MessagePart
{
    /// <summary>When the step started (UTC).</summary>
    public DateTimeOffset StartedAt { get; set; }
}
