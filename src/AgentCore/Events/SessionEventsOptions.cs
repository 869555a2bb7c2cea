namespace AgentCore;

/// <summary>
/// How long and how much <see cref="ISessionEvents"/> keeps of each session's events for subscribers that reconnect
/// (<see cref="ISessionEvents.SubscribeAsync(string?, long?, CancellationToken)"/> with an <c>afterSequence</c>), and how
/// far a subscriber may fall behind. Configure with <c>services.Configure&lt;SessionEventsOptions&gt;(o =&gt; ...)</c>.
/// </summary>
public sealed class SessionEventsOptions
{
    /// <summary>
    /// The number of most recent events kept per session (default 4096). It bounds both what a reconnecting subscriber
    /// can replay and how far a subscriber of one session may fall behind the turn before it is dropped with
    /// <see cref="SubscriberLaggedException"/>. The buffer is shared by all subscribers of the session: its memory does
    /// not grow with their number.
    /// </summary>
    public int ReplayCapacity { get; set; } = 4096;

    /// <summary>
    /// How long the events of a session stay replayable after its last event (default 5 minutes, on the injected
    /// <see cref="TimeProvider"/>); a session with a live subscriber is kept however long it is idle.
    /// </summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The number of events buffered for each subscriber of all sessions (<c>sessionId</c> null; default 4096). A subscriber
    /// that lets more pile up is dropped with <see cref="SubscriberLaggedException"/>.
    /// </summary>
    public int SubscriberBufferSize { get; set; } = 4096;

    internal void Validate()
    {
        if (ReplayCapacity < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ReplayCapacity), ReplayCapacity, "SessionEventsOptions.ReplayCapacity must be at least 1.");
        }

        if (Retention <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Retention), Retention, "SessionEventsOptions.Retention must be positive.");
        }

        if (SubscriberBufferSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(SubscriberBufferSize), SubscriberBufferSize, "SessionEventsOptions.SubscriberBufferSize must be at least 1.");
        }
    }
}
