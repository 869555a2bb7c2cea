namespace AgentCore;

/// <summary>
/// Thrown by a tool to report a failure the model should read as is (no exception type prefixed).
/// Any exception a tool throws becomes an error result the model sees; this one keeps the message clean.
/// </summary>
public class ToolException : AgentCoreException
{
    /// <summary>Creates the exception with the message the model will see.</summary>
    public ToolException(string message) : base(message) { }

    /// <summary>Creates the exception with the message the model will see and its cause.</summary>
    public ToolException(string message, Exception? innerException) : base(message, innerException) { }
}
