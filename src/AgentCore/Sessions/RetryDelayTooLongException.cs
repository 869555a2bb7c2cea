using System.Globalization;

namespace AgentCore;

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
