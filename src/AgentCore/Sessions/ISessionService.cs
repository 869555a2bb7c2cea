using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>What to create a session with. Every member is optional.</summary>
public sealed record CreateSessionRequest
{
    /// <summary>A caller-chosen id (validated: <c>ses_</c> prefix, letters, digits, <c>_</c> and <c>-</c>); null for a new one.</summary>
    public string? Id { get; init; }

    /// <summary>The session this one continues or forks, if any.</summary>
    public string? ParentId { get; init; }

    /// <summary>A title; null for the default <c>New Session - &lt;ISO 8601 UTC time&gt;</c>.</summary>
    public string? Title { get; init; }

    /// <summary>Metadata to store with the session.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>One user turn: what the user says and how to answer it.</summary>
public sealed record ChatRequest
{
    /// <summary>The session to chat in.</summary>
    public required string SessionId { get; init; }

    /// <summary>The user's text. Either this or <see cref="Contents"/> (or both: the text comes first).</summary>
    public string? Text { get; init; }

    /// <summary>
    /// The user's content: text, files (<see cref="DataContent"/>, <see cref="UriContent"/>) — or, to continue a turn that
    /// ended with <see cref="ExitReason.AwaitingApproval"/>, one <see cref="ToolApprovalResponseContent"/> per waiting call
    /// (<c>request.CreateResponse(approved, reason)</c>) and nothing else. See docs/approval-and-limits.md.
    /// </summary>
    public IList<AIContent>? Contents { get; init; }

    /// <summary>The model as <c>provider/model</c>; null for <see cref="AgentCoreOptions.DefaultModel"/>.</summary>
    public string? Model { get; init; }

    /// <summary>Budgets for this turn, each overriding its <see cref="AgentCoreOptions"/> setting; null for the options' own.</summary>
    public TurnBudget? Budget { get; init; }

    /// <summary>Options passed to the chat client (temperature and the like). Tools are set by the engine and added to these.</summary>
    public ChatOptions? Options { get; init; }
}

/// <summary>Budgets of one turn (see <see cref="ChatRequest.Budget"/>): each set member overrides its <see cref="AgentCoreOptions"/> setting.</summary>
public sealed record TurnBudget
{
    /// <summary>Overrides <see cref="AgentCoreOptions.MaxCostPerTurn"/> (USD); above 0.</summary>
    public decimal? MaxCostPerTurn { get; init; }

    /// <summary>Overrides <see cref="AgentCoreOptions.MaxCostPerSession"/> (USD); above 0.</summary>
    public decimal? MaxCostPerSession { get; init; }

    /// <summary>Overrides <see cref="AgentCoreOptions.MaxTokensPerTurn"/>; above 0.</summary>
    public long? MaxTokensPerTurn { get; init; }
}

/// <summary>
/// The facade apps use: sessions, their messages, and turns of conversation with a model.
/// </summary>
public interface ISessionService
{
    /// <summary>Creates and persists a session.</summary>
    Task<SessionInfo> CreateAsync(CreateSessionRequest? request = null, CancellationToken cancellationToken = default);

    /// <summary>Reads a session.</summary>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    Task<SessionInfo> GetAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Lists sessions, newest first.</summary>
    IAsyncEnumerable<SessionInfo> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists one page of the sessions matching <paramref name="query"/> — by metadata (an owner, a tenant), parent and
    /// update time — newest first by creation, ties broken by id descending. The SQLite and PostgreSQL stores run the
    /// query in the database, from indexes; the file and in-memory stores filter their session records in memory.
    /// </summary>
    /// <param name="query">The filters, the page size and the cursor of the page (see <see cref="SessionQuery"/>).</param>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <returns>The page; its <see cref="SessionPage.NextCursor"/> reads the next one, null after the last.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is null.</exception>
    /// <exception cref="ArgumentException">A value of the query is bad — a page size out of range, a malformed parent id,
    /// a cursor AgentCore did not write: thrown when the query is built, naming the value.</exception>
    Task<SessionPage> ListAsync(SessionQuery query, CancellationToken cancellationToken = default);

    /// <summary>Changes a session: <paramref name="update"/> returns the new value; <see cref="SessionInfo.UpdatedAt"/> is bumped.</summary>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    Task<SessionInfo> UpdateAsync(string sessionId, Func<SessionInfo, SessionInfo> update, CancellationToken cancellationToken = default);

    /// <summary>Deletes a session and its messages. Returns false when there was none.</summary>
    Task<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Reads the messages of a session in creation order (without those a <see cref="RevertAsync"/> took out).</summary>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    Task<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Runs one turn and streams its events, ending with <see cref="TurnCompleted"/>.</summary>
    /// <exception cref="SessionBusyException">The session is running another turn (thrown at once).</exception>
    /// <exception cref="ArgumentException">The request is empty, or its approval answers do not match the calls waiting for approval
    /// (unknown or already answered call, a call answered twice or left unanswered, nothing waiting); nothing is changed.</exception>
    IAsyncEnumerable<SessionEvent> ChatStreamingAsync(ChatRequest request, CancellationToken cancellationToken = default);

    /// <summary>Runs one turn and returns the completed assistant message.</summary>
    /// <exception cref="SessionBusyException">The session is running another turn (thrown at once).</exception>
    Task<SessionMessage> ChatAsync(ChatRequest request, CancellationToken cancellationToken = default);

    /// <summary>Writes (or updates) the session's summary, so later prompts start from it.</summary>
    /// <returns>The summary message.</returns>
    Task<SessionMessage> SummarizeAsync(string sessionId, string? model = null, CancellationToken cancellationToken = default);

    /// <summary>Aborts the turn the session is running. Returns false when it runs none.</summary>
    /// <param name="sessionId">The session whose turn to abort.</param>
    /// <returns>Whether a running turn was found and asked to abort.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a well-formed session id.</exception>
    /// <remarks>
    /// With the in-process and file locks this returns at once. With a lock provider that asks over the network (PostgreSQL,
    /// for a turn on another instance) it waits for that round trip; prefer <see cref="AbortAsync"/> where you can await.
    /// </remarks>
    bool Abort(string sessionId);

    /// <summary>Aborts the turn the session is running, wherever it runs, without blocking a thread on the lock provider's I/O.</summary>
    /// <param name="sessionId">The session whose turn to abort.</param>
    /// <param name="cancellationToken">Stops waiting for the lock provider.</param>
    /// <returns>Whether a running turn was found and asked to abort.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a well-formed session id.</exception>
    /// <remarks>The default implementation calls <see cref="Abort"/>; <see cref="SessionService"/>'s asks the lock provider asynchronously.</remarks>
    ValueTask<bool> AbortAsync(string sessionId, CancellationToken cancellationToken = default) => ValueTask.FromResult(Abort(sessionId));

    /// <summary>
    /// Copies a session into a new one: <see cref="SessionInfo.ParentId"/> is the source, the title is the source's
    /// followed by <c> (fork)</c>, and the messages up to and including <paramref name="atMessageId"/> (all of them when
    /// null) are copied in order with their parts, under new message and part ids. A summary's
    /// <see cref="SessionMessage.SummarizedThrough"/> is mapped to the copy's ids; totals are recomputed from the copied
    /// messages. The source is not changed. Messages hidden by <see cref="RevertAsync"/> are not copied.
    /// </summary>
    /// <param name="sessionId">The session to fork.</param>
    /// <param name="atMessageId">The last message to copy; null to copy every message.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new session.</returns>
    /// <exception cref="ArgumentException">An id is malformed, or the session has no message <paramref name="atMessageId"/> (the message names it).</exception>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    /// <exception cref="SessionBusyException">The session is running a turn (thrown at once).</exception>
    Task<SessionInfo> ForkAsync(string sessionId, string? atMessageId = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes the messages after <paramref name="toMessageId"/> out of the conversation: they are kept, so
    /// <see cref="UnrevertAsync"/> can bring them back, but <see cref="GetMessagesAsync"/>, prompts, forks and the
    /// session's totals leave them out (<see cref="SessionInfo.RevertedAfter"/> marks the point). The next turn or
    /// summary deletes them for good. A summary among them is gone with them, so prompts start from the summary before.
    /// </summary>
    /// <param name="sessionId">The session to revert.</param>
    /// <param name="toMessageId">The last message to keep in the conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The session as reverted.</returns>
    /// <exception cref="ArgumentException">An id is malformed, or the conversation has no message <paramref name="toMessageId"/> (the message names it).</exception>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    /// <exception cref="SessionBusyException">The session is running a turn (thrown at once).</exception>
    /// <exception cref="NotSupportedException">The store does not implement <see cref="ISessionStore.DeleteMessagesAsync"/>.</exception>
    Task<SessionInfo> RevertAsync(string sessionId, string toMessageId, CancellationToken cancellationToken = default);

    /// <summary>Brings back the messages the last <see cref="RevertAsync"/> took out, if no turn has run since.</summary>
    /// <param name="sessionId">The session to restore.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The session with every message back in the conversation (unchanged when nothing was reverted).</returns>
    /// <exception cref="ArgumentException">The id is malformed.</exception>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    /// <exception cref="SessionBusyException">The session is running a turn (thrown at once).</exception>
    Task<SessionInfo> UnrevertAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes a session and all its stored messages to <paramref name="destination"/> as one JSON document in the
    /// format <see cref="SessionExportFormat"/> describes (UTF-8, indented). The stream is not closed.
    /// </summary>
    /// <param name="sessionId">The session to export.</param>
    /// <param name="destination">A writable stream.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the document is written and the stream flushed.</returns>
    /// <exception cref="ArgumentException">The id is malformed or the stream is not writable.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="destination"/> is null.</exception>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    Task ExportAsync(string sessionId, Stream destination, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads a document written by <see cref="ExportAsync"/> and stores the session and its messages. The session keeps
    /// its id when the store has no session (and no message) under it; otherwise it gets a new id. Message and part ids,
    /// times, parts and the revert point are kept exactly; the totals are recomputed from the messages. The whole
    /// document is read and checked before the first write: an invalid one writes nothing.
    /// </summary>
    /// <param name="source">A readable stream holding one export, at most <see cref="SessionExportFormat.MaxBytes"/> long.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The imported session, as stored.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is null.</exception>
    /// <exception cref="ArgumentException">The stream is not readable.</exception>
    /// <exception cref="InvalidDataException">The document is not a valid export: not JSON, truncated, nested deeper than
    /// <see cref="SessionExportFormat.MaxDepth"/>, larger than <see cref="SessionExportFormat.MaxBytes"/>, another format,
    /// a version other than <see cref="SessionExportFormat.Version"/>, a value of the wrong type, or a malformed id
    /// (the message says which and where; it never quotes message content).</exception>
    Task<SessionInfo> ImportAsync(Stream source, CancellationToken cancellationToken = default);

    /// <summary>
    /// Searches every session's messages — the text users and the model wrote and the output of tool calls — for the words
    /// of <paramref name="query"/>, and returns the best hits (at most <see cref="SessionSearchQuery.Limit"/>), each with a
    /// snippet that marks the match. The SQLite and PostgreSQL stores search a full-text index kept in step with every
    /// write; the file and in-memory stores read the sessions one at a time. See docs/sessions.md.
    /// </summary>
    /// <remarks>
    /// Only completed messages are found (a reply is found once it has finished streaming), and not the messages a
    /// <see cref="RevertAsync"/> took out of the conversation (an <see cref="UnrevertAsync"/> brings them back).
    /// </remarks>
    /// <param name="query">The words to find, how many hits at most, and which sessions (by metadata) to search.</param>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <returns>The hits, best first (highest <see cref="SessionSearchHit.Score"/>, then newest message).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is null.</exception>
    /// <exception cref="ArgumentException">A value of the query is bad — no word to search for, too many words, a limit out
    /// of range: thrown when the query is built, naming the value.</exception>
    Task<IReadOnlyList<SessionSearchHit>> SearchAsync(SessionSearchQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every session (with its messages) last updated before <paramref name="olderThan"/>, skipping any that is
    /// running a turn, and then the usage history entries of the deleted sessions where the history supports it
    /// (see <see cref="ISessionHistory.DeleteSessionsAsync"/>; the default JSONL history keeps its entries).
    /// </summary>
    /// <param name="olderThan">Sessions whose <see cref="SessionInfo.UpdatedAt"/> is earlier than this go.</param>
    /// <param name="cancellationToken">Cancels the call; sessions deleted before it stay deleted.</param>
    /// <returns>The ids of the deleted sessions.</returns>
    Task<IReadOnlyList<string>> PurgeAsync(DateTimeOffset olderThan, CancellationToken cancellationToken = default);
}
