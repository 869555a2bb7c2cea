namespace AgentCore;

/// <summary>
/// Something that happened to a session. <see cref="ISessionService.ChatStreamingAsync"/> yields the events of
/// its turn, ending with <see cref="TurnCompleted"/>; <see cref="ISessionEvents"/> delivers every event to subscribers.
/// </summary>
/// <param name="SessionId">The session the event is about.</param>
public abstract record SessionEvent(string SessionId)
{
    private long _sequence;

    /// <summary>
    /// The event's position in its session's stream, assigned when the event is published: strictly increasing per
    /// session and without gaps between consecutive events of a session (so within a turn). Pass the last one seen as
    /// <c>afterSequence</c> to <see cref="ISessionEvents.SubscribeAsync(string?, long?, CancellationToken)"/> to resume.
    /// The numbers are opaque: a session's first event is not 1 (streams start from the clock so that they keep
    /// increasing when a process restarts). Zero on an event that was never published.
    /// </summary>
    public long Sequence
    {
        get => _sequence;
        init => _sequence = value;
    }

    internal void AssignSequence(long sequence) => _sequence = sequence;

    /// <summary>
    /// The event's index in the ring of the session log that holds it (see <c>SessionEventHub</c>), so a reader can tell it
    /// from an event that overwrote its slot; -1 until it is written to a ring. An event is in at most one ring.
    /// </summary>
    internal long RingIndex
    {
        get => Volatile.Read(ref _ringIndex);
        set => Volatile.Write(ref _ringIndex, value);
    }

    private long _ringIndex = -1;

    /// <summary>
    /// Claims the event for a ring at <paramref name="index"/>: false when it is already in a ring (another hub's, when a
    /// relay hands one instance to two hubs at once), so the caller stores a copy instead. Atomic across hubs.
    /// </summary>
    /// <param name="index">The event's index in the claiming ring.</param>
    /// <returns>True when the event was in no ring and now has <paramref name="index"/>.</returns>
    internal bool TryClaimRingIndex(long index) => Interlocked.CompareExchange(ref _ringIndex, index, -1) == -1;

    /// <summary>Whether <paramref name="other"/> is the same kind of event with the same values (where it sits in a ring is not compared).</summary>
    /// <param name="other">The event to compare with.</param>
    /// <returns>True when both are of the same type with the same session, sequence and values.</returns>
    public virtual bool Equals(SessionEvent? other) =>
        ReferenceEquals(this, other) ||
        (other is not null && EqualityContract == other.EqualityContract && _sequence == other._sequence &&
         string.Equals(SessionId, other.SessionId, StringComparison.Ordinal));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(EqualityContract, _sequence, SessionId);
}
