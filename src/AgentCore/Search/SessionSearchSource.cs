namespace AgentCore;

/// <summary>What part of a message a <see cref="SessionSearchHit"/> was found in.</summary>
public enum SessionSearchSource
{
    /// <summary>The text of a <see cref="TextPart"/> (what the user or the model wrote).</summary>
    Text,

    /// <summary>The <see cref="ToolPart.Output"/> of a tool call.</summary>
    ToolOutput,
}
