namespace AgentCore;

/// <summary>
/// Thrown by a tool to report that the call failed, with a message meant for the model (for example an MCP tool
/// result flagged as an error). The turn records the call in the error state with this message and goes on.
/// </summary>
public sealed class ToolException : AgentCoreException
{
    /// <summary>Creates the exception with the error text.</summary>
    /// <param name="message">The error text for the model.</param>
    public ToolException(string message) : base(message) { }

    /// <summary>Creates the exception with the error text and the exception that caused it.</summary>
    /// <param name="message">The error text for the model.</param>
    /// <param name="innerException">The exception that caused this one, or null.</param>
    public ToolException(string message, Exception? innerException) : base(message, innerException) { }
}
