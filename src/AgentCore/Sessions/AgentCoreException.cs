namespace AgentCore;

/// <summary>The base type of every exception AgentCore throws for a condition of its own.</summary>
public class AgentCoreException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public AgentCoreException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public AgentCoreException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>Thrown when a session id names no stored session.</summary>
public sealed class SessionNotFoundException : AgentCoreException
{
    /// <summary>Creates the exception for <paramref name="sessionId"/>.</summary>
    public SessionNotFoundException(string sessionId)
        : base($"Session '{sessionId}' was not found.") => SessionId = sessionId;

    /// <summary>The id that was looked up.</summary>
    public string SessionId { get; }
}

/// <summary>
/// Thrown at once, without waiting, when a turn is started on a session that is already running one
/// (in this process or, with a cross-instance lock, in another).
/// </summary>
public sealed class SessionBusyException : AgentCoreException
{
    /// <summary>Creates the exception for <paramref name="sessionId"/>.</summary>
    public SessionBusyException(string sessionId)
        : base($"Session '{sessionId}' is busy with another turn. Wait for it to finish or abort it.") => SessionId = sessionId;

    /// <summary>The busy session.</summary>
    public string SessionId { get; }
}

/// <summary>Thrown when a provider or model reference resolves to nothing registered.</summary>
public sealed class ModelNotFoundException : AgentCoreException
{
    /// <summary>Creates the exception for the model that was asked for and the models that are registered.</summary>
    public ModelNotFoundException(string providerId, string modelId, IEnumerable<string> available)
        : this(providerId, modelId, available.ToArray())
    {
    }

    private ModelNotFoundException(string providerId, string modelId, string[] available)
        : base($"Model '{providerId}/{modelId}' is not registered. Available: " +
               (available.Length == 0 ? "(none; register one with AddChatClient)" : string.Join(", ", available)) + ".")
    {
        ProviderId = providerId;
        ModelId = modelId;
        Available = available;
    }

    /// <summary>The provider id that was asked for.</summary>
    public string ProviderId { get; }

    /// <summary>The model id that was asked for.</summary>
    public string ModelId { get; }

    /// <summary>The registered models as <c>provider/model</c> references.</summary>
    public IReadOnlyList<string> Available { get; }
}
