namespace AgentCore;

/// <summary>
/// Carries session events between app instances, so that a subscriber on one instance receives the events of a turn
/// running on another (see <c>docs/scaling-out.md</c>). A store package supplies one (PostgreSQL:
/// <c>UsePostgreSql(cs, o =&gt; o.UseEvents = true)</c>); without one, <see cref="ISessionEvents"/> is per process.
/// </summary>
/// <remarks>
/// <para>The instance running a session's turn numbers the turn's events and hands each to <see cref="Append"/> in
/// sequence order; the relay stores them (in batches: <see cref="Append"/> must never wait for I/O) and wakes the other
/// instances. Before the session's busy lock is released, <see cref="FlushAsync"/> makes every appended event readable,
/// so the next turn, wherever it runs, continues the numbering from <see cref="GetLastSequenceAsync"/>.</para>
/// <para>Instances with subscribers of a session follow it with <see cref="FollowAsync"/> and republish what they read
/// under the original sequences.</para>
/// <para>Events raised outside a turn of this instance (a session created, renamed or deleted, a title that lands after
/// its turn) go to <see cref="PublishAsync"/>: the relay numbers each atomically in the session's shared stream, or, when
/// a turn on another instance is numbering the session (between its <see cref="BeginTurnAsync"/> and
/// <see cref="EndTurnAsync"/>), defers it to that turn, which numbers it after its own events. Instances with subscribers
/// of all sessions follow the session-level events (created, updated, deleted) of every session with <see cref="FollowAllAsync"/>.</para>
/// </remarks>
public interface ISessionEventRelay
{
    /// <summary>Takes an event this instance published during a turn it runs; returns at once (the write happens later).</summary>
    /// <param name="sessionEvent">The event, with its <see cref="SessionEvent.Sequence"/>; called in sequence order per session.</param>
    void Append(SessionEvent sessionEvent);

    /// <summary>Completes when every event appended so far for the session is stored and readable by other instances.</summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the events are stored.</returns>
    Task FlushAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes this instance the one numbering the session's events, for a turn it runs (called with the session's busy lock
    /// held): until <see cref="EndTurnAsync"/>, <see cref="PublishAsync"/> on any instance defers the session's events to it.
    /// </summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The greatest sequence the session has used on any instance (stored, or handed out outside a turn), or null when none is known.</returns>
    Task<long?> BeginTurnAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Ends what <see cref="BeginTurnAsync"/> began, once the turn's last event is appended: stores the turn's events, records
    /// <paramref name="lastSequence"/> as the session's last number, and numbers (after it) and stores the events other
    /// instances deferred to this turn.
    /// </summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="lastSequence">The sequence of the turn's last event.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The deferred events, numbered and stored, in sequence order, for this instance to deliver to its own subscribers.</returns>
    Task<IReadOnlyList<SessionEvent>> EndTurnAsync(string sessionId, long lastSequence, CancellationToken cancellationToken = default);

    /// <summary>
    /// Numbers and stores an event raised outside a turn of this instance, atomically with every other instance's numbering of
    /// the session, or defers it to the turn another instance is running on the session (see <see cref="EndTurnAsync"/>).
    /// </summary>
    /// <param name="sessionEvent">The event, not yet numbered.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The event's sequence once stored; null when it was deferred to a turn running on another instance.</returns>
    Task<long?> PublishAsync(SessionEvent sessionEvent, CancellationToken cancellationToken = default);

    /// <summary>
    /// The session-level events (<see cref="SessionCreated"/>, <see cref="SessionUpdated"/>, <see cref="SessionDeleted"/>) other
    /// instances store, in a turn or outside one, of every session, as they are stored, until <paramref name="cancellationToken"/>
    /// is cancelled. Live only: what is stored while the stream is not connected is not delivered. The hub calls it when its
    /// first subscriber of all sessions subscribes, and enumerates it at once.
    /// </summary>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The events, each with its sequence.</returns>
    IAsyncEnumerable<SessionEvent> FollowAllAsync(CancellationToken cancellationToken = default);

    /// <summary>The greatest sequence stored for the session, or null when none is kept.</summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The last stored sequence, or null.</returns>
    Task<long?> GetLastSequenceAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>The stored events of the session after <paramref name="afterSequence"/>, in order, ending with the last one stored.</summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="afterSequence">The sequence to read after.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The events, in sequence order.</returns>
    IAsyncEnumerable<SessionEvent> ReadAsync(string sessionId, long afterSequence, CancellationToken cancellationToken = default);

    /// <summary>
    /// Like <see cref="ReadAsync"/>, then the events other instances store later, as they are stored, until
    /// <paramref name="cancellationToken"/> is cancelled. A broken connection is re-established without losing events.
    /// </summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="afterSequence">The sequence to follow from.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The events, in sequence order.</returns>
    IAsyncEnumerable<SessionEvent> FollowAsync(string sessionId, long afterSequence, CancellationToken cancellationToken = default);
}
