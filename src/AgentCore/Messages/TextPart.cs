namespace AgentCore;

/// <summary>Text written by the user or the model.</summary>
public sealed class TextPart : MessagePart
{
    /// <summary>The text.</summary>
    public string Text { get; set; } = "";
}
