namespace AgentCore;

/// <summary>Marks the end of a step, with its usage and cost.</summary>
public sealed class StepFinishPart : MessagePart
{
    /// <summary>The tokens the step used.</summary>
    public TokenUsage Tokens { get; set; }

    /// <summary>The cost of the step in USD.</summary>
    public decimal Cost { get; set; }

    /// <summary>Why the model stopped the step (<c>stop</c>, <c>tool_calls</c>, <c>length</c>, ...; <c>aborted</c> when the turn's abort cut it off).</summary>
    public string? FinishReason { get; set; }

    /// <summary>When the step ended (UTC).</summary>
    public DateTimeOffset EndedAt { get; set; }
}
