namespace AgentCore;

/// <summary>Reasoning ("thinking") text the model streamed before or between its answers.</summary>
public sealed class ReasoningPart : MessagePart
{
    /// <summary>The reasoning text.</summary>
    public string Text { get; set; } = "";
}
