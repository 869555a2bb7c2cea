namespace AgentCore;

/// <summary>
/// Something that happened to a session. <see cref="ISessionService.ChatStreamingAsync"/> yields the events of
/// its turn, ending with <see cref="TurnCompleted"/>; <see cref="ISessionEvents"/> delivers every event to subscribers.
/// </summary>
/// <param name="SessionId">The session the event is about.</param>
public abstract record SessionEvent(string SessionId);

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
    /// <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    IAsyncEnumerable<SessionEvent> SubscribeAsync(string? sessionId = null, CancellationToken cancellationToken = default);
}
