using System.Globalization;

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

/// <summary>Thrown when a session id names no stored session.</summary>
public sealed class SessionNotFoundException : AgentCoreException
{
    /// <summary>Creates the exception for <paramref name="sessionId"/>.</summary>
    /// <param name="sessionId">The id that names no session.</param>
    public SessionNotFoundException(string sessionId)
        : base($"Session '{sessionId}' was not found.") => SessionId = sessionId;

    /// <summary>The id that was looked up.</summary>
    public string SessionId { get; }
}

/// <summary>
/// Thrown without waiting, and before anything is changed, when a turn (or another operation that takes the session's
/// lock: a summary, a delete, a fork, a revert) is started on a session that is already running one, in this process or,
/// with a cross-instance lock, in another. <see cref="ISessionService.ChatStreamingAsync"/> throws it when its enumeration
/// starts, not when it is called.
/// </summary>
public sealed class SessionBusyException : AgentCoreException
{
    /// <summary>Creates the exception for <paramref name="sessionId"/>.</summary>
    /// <param name="sessionId">The busy session.</param>
    public SessionBusyException(string sessionId)
        : base($"Session '{sessionId}' is busy with another turn. Wait for it to finish or abort it.") => SessionId = sessionId;

    /// <summary>The busy session.</summary>
    public string SessionId { get; }
}

/// <summary>Thrown when a provider or model reference resolves to nothing registered.</summary>
public sealed class ModelNotFoundException : AgentCoreException
{
    /// <summary>Creates the exception for the model that was asked for and the models that are registered.</summary>
    /// <param name="providerId">The provider asked for.</param>
    /// <param name="modelId">The model asked for.</param>
    /// <param name="available">The <c>provider/model</c> references that are registered.</param>
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

/// <summary>
/// Thrown by a turn (and stored as the assistant message's <see cref="MessageErrorKind.Api"/> error) when the provider
/// answered a transient failure with a <c>retry-after-ms</c> or <c>Retry-After</c> longer than
/// <see cref="AgentCoreOptions.MaxRetryDelay"/>: AgentCore ends the turn instead of waiting. The provider's exception is the
/// <see cref="Exception.InnerException"/>.
/// </summary>
public sealed class RetryDelayTooLongException : AgentCoreException
{
    /// <summary>Creates the exception for the delay the provider asked for and the longest AgentCore waits.</summary>
    /// <param name="requestedDelay">How long the provider asked to wait before a retry.</param>
    /// <param name="maxRetryDelay">The value of <see cref="AgentCoreOptions.MaxRetryDelay"/>.</param>
    /// <param name="innerException">The provider's exception that carried the delay.</param>
    public RetryDelayTooLongException(TimeSpan requestedDelay, TimeSpan maxRetryDelay, Exception? innerException)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"The provider asked to wait {requestedDelay} before retrying, longer than MaxRetryDelay ({maxRetryDelay}); the turn ended without retrying."),
            innerException)
    {
        RequestedDelay = requestedDelay;
        MaxRetryDelay = maxRetryDelay;
    }

    /// <summary>How long the provider asked to wait before a retry.</summary>
    public TimeSpan RequestedDelay { get; }

    /// <summary>The longest AgentCore waits (<see cref="AgentCoreOptions.MaxRetryDelay"/>) when the turn ran.</summary>
    public TimeSpan MaxRetryDelay { get; }
}
