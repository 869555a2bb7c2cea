namespace AgentCore;

/// <summary>The base type of every exception AgentCore throws for a condition of its own.</summary>
public class AgentCoreException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public AgentCoreException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The exception that caused this one, or null.</param>
    public AgentCoreException(string message, Exception? innerException) : base(message, innerException) { }
}
