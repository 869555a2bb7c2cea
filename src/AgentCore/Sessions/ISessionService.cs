namespace AgentCore;

/// <summary>
/// The facade apps use: sessions, their messages, and turns of conversation with a model.
/// </summary>
public interface ISessionService
{
    /// <summary>Creates and persists a session.</summary>
    /// <param name="request">The new session's id, parent, title and metadata; null for a new id and the defaults.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored session.</returns>
    /// <exception cref="ArgumentException">The requested id or parent id is not a valid session id.</exception>
    /// <exception cref="SessionNotFoundException">The requested parent session does not exist.</exception>
    Task<SessionInfo> CreateAsync(CreateSessionRequest? request = null, CancellationToken cancellationToken = default);

    /// <summary>Reads a session.</summary>
    /// <param name="sessionId">The session's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The session.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    Task<SessionInfo> GetAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Lists sessions, newest first.</summary>
    /// <param name="cancellationToken">Stops the listing.</param>
    /// <returns>Every session, newest first.</returns>
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
    /// <param name="sessionId">The session's id.</param>
    /// <param name="update">Returns the changed session from the current one.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The stored session.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    Task<SessionInfo> UpdateAsync(string sessionId, Func<SessionInfo, SessionInfo> update, CancellationToken cancellationToken = default);

    /// <summary>Deletes a session and its messages.</summary>
    /// <param name="sessionId">The session's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>True when a session was deleted; false when there was none.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    /// <exception cref="SessionBusyException">The session is running a turn: refused without waiting, nothing is deleted.</exception>
    Task<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Reads the messages of a session in creation order (without those a <see cref="RevertAsync"/> took out).</summary>
    /// <param name="sessionId">The session's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The messages, oldest first.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    Task<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Runs one turn and streams its events, ending with <see cref="TurnCompleted"/>.</summary>
    /// <remarks>
    /// The request's fields are checked when this method is called. Everything else happens when the enumeration starts
    /// (the first <c>MoveNextAsync</c>): the session's lock is taken, the session is loaded and the approval answers are
    /// checked, and the exceptions below that concern them are thrown from there, before anything is changed.
    /// </remarks>
    /// <param name="request">The session, the user's message or approval answers, and the turn's model and options.</param>
    /// <param name="cancellationToken">Cancels the turn.</param>
    /// <returns>The turn's events, in order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is null (thrown by the call).</exception>
    /// <exception cref="ArgumentException">The session id or model reference is malformed, a budget is not above 0, or the
    /// request is empty or mixes approval answers with other content (thrown by the call); or its approval answers do not
    /// match the calls waiting for approval (unknown or already answered call, a call answered twice or left unanswered,
    /// nothing waiting: thrown when the enumeration starts).</exception>
    /// <exception cref="SessionNotFoundException">There is no such session (thrown when the enumeration starts).</exception>
    /// <exception cref="SessionBusyException">The session is running another turn: thrown when the enumeration starts,
    /// without waiting for the other turn.</exception>
    IAsyncEnumerable<SessionEvent> ChatStreamingAsync(ChatRequest request, CancellationToken cancellationToken = default);

    /// <summary>Runs one turn and returns the completed assistant message.</summary>
    /// <param name="request">The session, the user's message or approval answers, and the turn's model and options.</param>
    /// <param name="cancellationToken">Cancels the turn.</param>
    /// <returns>The completed assistant message.</returns>
    /// <exception cref="ArgumentException">The request is not valid (see <see cref="ChatStreamingAsync"/>).</exception>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    /// <exception cref="SessionBusyException">The session is running another turn: refused without waiting, nothing is changed.</exception>
    Task<SessionMessage> ChatAsync(ChatRequest request, CancellationToken cancellationToken = default);

    /// <summary>Writes (or updates) the session's summary, so later prompts start from it.</summary>
    /// <param name="sessionId">The session's id.</param>
    /// <param name="model">The model that writes the summary (<c>provider/model</c>); null for <see cref="AgentCoreOptions.DefaultModel"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The summary message.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> or <paramref name="model"/> is malformed.</exception>
    /// <exception cref="SessionBusyException">The session is running a turn: refused without waiting, nothing is changed.</exception>
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
    /// <exception cref="SessionBusyException">The session is running a turn (refused without waiting; nothing is changed).</exception>
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
    /// <exception cref="SessionBusyException">The session is running a turn (refused without waiting; nothing is changed).</exception>
    /// <exception cref="NotSupportedException">The store does not implement <see cref="ISessionStore.DeleteMessagesAsync"/>.</exception>
    Task<SessionInfo> RevertAsync(string sessionId, string toMessageId, CancellationToken cancellationToken = default);

    /// <summary>Brings back the messages the last <see cref="RevertAsync"/> took out, if no turn has run since.</summary>
    /// <param name="sessionId">The session to restore.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The session with every message back in the conversation (unchanged when nothing was reverted).</returns>
    /// <exception cref="ArgumentException">The id is malformed.</exception>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    /// <exception cref="SessionBusyException">The session is running a turn (refused without waiting; nothing is changed).</exception>
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
