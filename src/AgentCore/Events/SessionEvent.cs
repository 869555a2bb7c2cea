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
}

/// <summary>A session was created.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Session">The new session.</param>
public sealed record SessionCreated(string SessionId, SessionInfo Session) : SessionEvent(SessionId);

/// <summary>A session changed (title, metadata, totals).</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Session">The session as it is now.</param>
public sealed record SessionUpdated(string SessionId, SessionInfo Session) : SessionEvent(SessionId);

/// <summary>A session and its messages were deleted.</summary>
/// <param name="SessionId">The session.</param>
public sealed record SessionDeleted(string SessionId) : SessionEvent(SessionId);

/// <summary>A message was created or changed and persisted.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Message">The message as persisted (a snapshot: later changes do not show in it).</param>
public sealed record MessageUpdated(string SessionId, SessionMessage Message) : SessionEvent(SessionId);

/// <summary>The model streamed more text.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="MessageId">The assistant message being written.</param>
/// <param name="PartId">The text part the delta is appended to.</param>
/// <param name="Text">The new text.</param>
public sealed record TextDelta(string SessionId, string MessageId, string PartId, string Text) : SessionEvent(SessionId);

/// <summary>The model streamed more reasoning.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="MessageId">The assistant message being written.</param>
/// <param name="PartId">The reasoning part the delta is appended to.</param>
/// <param name="Text">The new reasoning text.</param>
public sealed record ReasoningDelta(string SessionId, string MessageId, string PartId, string Text) : SessionEvent(SessionId);

/// <summary>A tool call changed state (pending, running, completed, error).</summary>
/// <param name="SessionId">The session.</param>
/// <param name="MessageId">The assistant message holding the call.</param>
/// <param name="Part">The tool part (a snapshot).</param>
public sealed record ToolCallUpdated(string SessionId, string MessageId, ToolPart Part) : SessionEvent(SessionId);

/// <summary>
/// A tool call needs a person's approval before it runs. The call is stored as <see cref="ToolState.AwaitingApproval"/>
/// and the turn ends with <see cref="ExitReason.AwaitingApproval"/>. Continue the session with
/// <c>ChatStreamingAsync(new ChatRequest { SessionId = ..., Contents = [Request.CreateResponse(approved, reason)] })</c>,
/// at any later time and from any process sharing the store.
/// </summary>
/// <param name="SessionId">The session.</param>
/// <param name="MessageId">The assistant message holding the call.</param>
/// <param name="Part">The tool part (a snapshot).</param>
/// <param name="Request">The approval request; its <see cref="Microsoft.Extensions.AI.InputRequestContent.RequestId"/> is the call id.</param>
public sealed record ToolApprovalRequested(string SessionId, string MessageId, ToolPart Part, Microsoft.Extensions.AI.ToolApprovalRequestContent Request)
    : SessionEvent(SessionId);

/// <summary>A model call (step) finished.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="MessageId">The assistant message.</param>
/// <param name="Step">The 1-based step number within the turn.</param>
/// <param name="Tokens">The step's token usage.</param>
/// <param name="Cost">The step's cost in USD.</param>
/// <param name="FinishReason">Why the model stopped the step.</param>
public sealed record StepFinished(string SessionId, string MessageId, int Step, TokenUsage Tokens, decimal Cost, string? FinishReason)
    : SessionEvent(SessionId);

/// <summary>A model call failed with a transient error and will be retried after <paramref name="Delay"/>.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Attempt">The 1-based retry number.</param>
/// <param name="Delay">How long the engine waits before retrying.</param>
/// <param name="Reason">What failed (no message content, no secrets).</param>
public sealed record Retrying(string SessionId, int Attempt, TimeSpan Delay, string Reason) : SessionEvent(SessionId);

/// <summary>Compaction of the session's context started.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="TokensBefore">The estimated prompt tokens before compaction.</param>
public sealed record CompactionStarted(string SessionId, long TokensBefore) : SessionEvent(SessionId);

/// <summary>Compaction of the session's context finished.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="TokensBefore">The estimated prompt tokens before compaction.</param>
/// <param name="TokensAfter">The estimated prompt tokens after compaction.</param>
public sealed record CompactionFinished(string SessionId, long TokensBefore, long TokensAfter) : SessionEvent(SessionId);

/// <summary>The turn ended. Always the last event of a turn, whatever the outcome.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Message">The completed assistant message (with <see cref="SessionMessage.Error"/> when it failed).</param>
/// <param name="ExitReason">Why the turn ended; its <see cref="AgentCore.ExitReason.Value"/> is the usage history's <c>exit_reason</c>.</param>
public sealed record TurnCompleted(string SessionId, SessionMessage Message, ExitReason ExitReason) : SessionEvent(SessionId);

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
