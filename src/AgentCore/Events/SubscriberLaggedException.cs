namespace AgentCore;

/// <summary>
/// Thrown by the enumeration of <see cref="ISessionEvents.SubscribeAsync(string?, long?, CancellationToken)"/> when the
/// subscriber fell so far behind that events it has not read are no longer kept. Every event up to and including
/// <see cref="LastSequence"/> was delivered; resubscribe with <c>afterSequence: LastSequence</c> (which throws again at
/// once when the events after it are gone too: then reload the session's messages and subscribe without one).
/// </summary>
public sealed class SubscriberLaggedException : AgentCoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="sessionId">The session subscribed to; null for a subscriber of all sessions.</param>
    /// <param name="lastSequence">The <see cref="SessionEvent.Sequence"/> of the last event delivered; null when none was.</param>
    public SubscriberLaggedException(string? sessionId, long? lastSequence)
        : base(sessionId is null
            ? $"The subscriber to all sessions fell behind and was dropped; the last event it received has sequence {lastSequence?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"}."
            : $"The subscriber to session '{sessionId}' fell behind the events kept for it and was dropped; the last event it received has sequence {lastSequence?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"}. Resubscribe with that afterSequence, or reload the session.")
    {
        SessionId = sessionId;
        LastSequence = lastSequence;
    }

    /// <summary>The session subscribed to; null for a subscriber of all sessions.</summary>
    public string? SessionId { get; }

    /// <summary>The <see cref="SessionEvent.Sequence"/> of the last event delivered to the subscriber; null when none was.</summary>
    public long? LastSequence { get; }
}
