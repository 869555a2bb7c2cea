namespace AgentCore;

/// <summary>Delivers session events to any component that subscribes.</summary>
public interface ISessionEvents
{
    /// <summary>
    /// Streams the events raised from now on, for one session or (with null) for all, until
    /// <paramref name="cancellationToken"/> is cancelled. The subscription starts when this method returns, before the
    /// first <c>MoveNextAsync</c>: enumerate it or cancel the token.
    /// </summary>
    /// <param name="sessionId">The session to follow; null for every session.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    /// <returns>The events, in the order they were published.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    /// <exception cref="SubscriberLaggedException">Thrown by the enumeration when the subscriber fell too far behind.</exception>
    IAsyncEnumerable<SessionEvent> SubscribeAsync(string? sessionId = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams a session's events after <paramref name="afterSequence"/>: first those already published that are still
    /// kept (see <see cref="SessionEventsOptions"/>), then the live ones — none lost, none twice, in order.
    /// </summary>
    /// <param name="sessionId">The session to follow; null for every session (then <paramref name="afterSequence"/> must be null).</param>
    /// <param name="afterSequence">
    /// The <see cref="SessionEvent.Sequence"/> of the last event the caller has; null to start from now. A sequence beyond
    /// the session's last event (one this instance never published) also starts from now.
    /// </param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    /// <returns>The events with a greater sequence, in order.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id, or is null with an <paramref name="afterSequence"/>.</exception>
    /// <exception cref="SubscriberLaggedException">
    /// Thrown by the enumeration when events after <paramref name="afterSequence"/> are no longer kept, or when the
    /// subscriber later falls more than <see cref="SessionEventsOptions.ReplayCapacity"/> events behind.
    /// </exception>
    IAsyncEnumerable<SessionEvent> SubscribeAsync(string? sessionId, long? afterSequence, CancellationToken cancellationToken = default);
}
