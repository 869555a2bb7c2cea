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
