using AgentCore.Storage;

namespace AgentCore;

/// <summary>
/// Persistence of sessions and their messages: the extension point for a store of your own.
/// </summary>
/// <remarks>
/// <para>Implementations must be safe for concurrent use, validate every id before it reaches storage
/// (throwing an <see cref="ArgumentException"/> that names the value), never expose a half-written
/// record, and skip a corrupt record with a logged warning rather than fail a read or a listing.</para>
/// <para>The <c>AgentCore.Testing</c> package has a conformance suite every store should pass.</para>
/// </remarks>
public interface ISessionStore
{
    /// <summary>Reads one session, or returns null when there is none with that id.</summary>
    /// <param name="sessionId">The session's id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The session, or null.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    ValueTask<SessionInfo?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Lists every session, newest first (by creation), without reading any message.</summary>
    /// <param name="cancellationToken">Stops the listing.</param>
    /// <returns>The sessions, newest first.</returns>
    IAsyncEnumerable<SessionInfo> ListSessionsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists one page of the sessions that match <paramref name="query"/>, newest first by creation (ties broken by id
    /// descending, as <see cref="ListSessionsAsync(CancellationToken)"/>), without reading any message.
    /// </summary>
    /// <remarks>
    /// <para>A page holds at most <see cref="SessionQuery.PageSize"/> sessions, all of which come after
    /// <see cref="SessionQuery.After"/> in that order; <see cref="SessionPage.NextCursor"/> is
    /// <see cref="SessionCursor.After"/> the page's last session when at least one more session matches, and null
    /// otherwise. <see cref="SessionQuery.Matches"/> is the filter's definition.</para>
    /// <para>The default implementation reads <see cref="ListSessionsAsync(CancellationToken)"/> and filters in memory (it
    /// stops after the page and one more match); a database store should run the query in the database, indexed.</para>
    /// </remarks>
    /// <param name="query">The filters, the page size and the cursor (already validated by <see cref="SessionQuery"/>).</param>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <returns>The page.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is null.</exception>
    async ValueTask<SessionPage> ListSessionsAsync(SessionQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var page = new List<SessionInfo>(Math.Min(query.PageSize, 64) + 1);
        await foreach (var session in ListSessionsAsync(cancellationToken).ConfigureAwait(false))
        {
            if ((query.After is null || query.After.Precedes(session)) && query.Matches(session))
            {
                page.Add(session);
                if (page.Count > query.PageSize)
                {
                    break;
                }
            }
        }

        return SessionPages.Of(page, query.PageSize);
    }

    /// <summary>
    /// Finds the parts of messages that hold every word of <paramref name="query"/>, across every session the query
    /// searches, best first (<see cref="SessionSearchQuery.CompareHits"/>), at most <see cref="SessionSearchQuery.Limit"/>.
    /// </summary>
    /// <remarks>
    /// <para>What is searched: the text of <see cref="TextPart"/>s and the <see cref="ToolPart.Output"/> of tool calls, in
    /// completed messages (<see cref="SessionMessage.CompletedAt"/> set), of sessions that
    /// <see cref="SessionSearchQuery.Matches"/> accepts, leaving out the messages after a session's
    /// <see cref="SessionInfo.RevertedAfter"/>. <see cref="SessionSearchQuery.Match"/> is the definition of a match.</para>
    /// <para>The default implementation reads <see cref="ListSessionsAsync(CancellationToken)"/> and then one session's
    /// messages at a time, keeping only the best hits, so a store of your own supports search unchanged (in time linear
    /// in what it holds); a database store should search an index kept in step with its writes.</para>
    /// </remarks>
    /// <param name="query">The words, the limit and the sessions to search (already validated by <see cref="SessionSearchQuery"/>).</param>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <returns>The hits, best first.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is null.</exception>
    async ValueTask<IReadOnlyList<SessionSearchHit>> SearchAsync(SessionSearchQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var results = new SearchResults(query.Limit);
        await foreach (var session in ListSessionsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (query.Matches(session))
            {
                results.AddMatches(query, session, await GetMessagesAsync(session.Id, cancellationToken).ConfigureAwait(false));
            }
        }

        return results.ToList();
    }

    /// <summary>Inserts or replaces a session.</summary>
    /// <param name="session">The session.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the session is durably stored.</returns>
    /// <exception cref="ArgumentException">The session's id is not valid.</exception>
    ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads a session, applies <paramref name="update"/> and saves the result, unless it returned the session it was
    /// given (the same instance): then nothing is written. Returns the session as it is now, or null when there is none.
    /// </summary>
    /// <remarks>
    /// The engine changes sessions only through this method (renames, titles, totals), so a store that makes it atomic
    /// — across processes when several may share the store — never loses one of two concurrent updates. The file
    /// store holds a file lock around it, the SQL stores a transaction, the in-memory store a compare-and-swap;
    /// <paramref name="update"/> may then be called more than once and must have no side effects. The default
    /// implementation reads with <see cref="GetSessionAsync"/> and writes with <see cref="SaveSessionAsync"/>, which is
    /// safe only within one process (the engine serializes its own updates of a session).
    /// </remarks>
    /// <param name="sessionId">The session to change.</param>
    /// <param name="update">Computes the new session from the stored one; returns its argument to change nothing.</param>
    /// <param name="cancellationToken">Cancels the update before it is written.</param>
    /// <returns>The session as saved (or as found, when <paramref name="update"/> changed nothing); null when there is none.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a well-formed session id.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="update"/> is null, or returned null.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="update"/> changed the session's id.</exception>
    async ValueTask<SessionInfo?> UpdateSessionAsync(string sessionId, Func<SessionInfo, SessionInfo> update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        var current = await GetSessionAsync(sessionId, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return null;
        }

        if (StoredRecords.ApplyUpdate(current, update) is not { } changed)
        {
            return current;
        }

        await SaveSessionAsync(changed, cancellationToken).ConfigureAwait(false);
        return changed;
    }

    /// <summary>Deletes a session and all its messages. Returns false when there was none.</summary>
    /// <param name="sessionId">The session's id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>True when a session was deleted.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    ValueTask<bool> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Reads the messages of a session in ascending id (creation) order; empty when there are none.</summary>
    /// <param name="sessionId">The session's id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The messages, oldest first.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Inserts or replaces a message (by <see cref="SessionMessage.Id"/>) of <see cref="SessionMessage.SessionId"/>.</summary>
    /// <param name="message">The message, with all its parts.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the message is durably stored.</returns>
    /// <exception cref="ArgumentException">An id of the message or of one of its parts is not valid.</exception>
    ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Persists a change to one part of a message while it streams: afterwards the stored message must equal
    /// <paramref name="message"/> (its own fields and every part).
    /// </summary>
    /// <param name="message">The message, with its current fields and parts.</param>
    /// <param name="part">The part that changed; one of <paramref name="message"/>'s parts.</param>
    /// <param name="appendedText">The text appended to the part since it was last saved, or null when the part is new or changed otherwise.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the change is durably stored.</returns>
    /// <remarks>
    /// The engine calls this at part boundaries and about once a second while text streams, so a store can
    /// avoid rewriting a whole message each time. <paramref name="part"/> is the part that changed; when
    /// <paramref name="appendedText"/> is not null, the part is a <see cref="TextPart"/> or <see cref="ReasoningPart"/>
    /// already stored by an earlier call, and its text grew by exactly <paramref name="appendedText"/> since then,
    /// so a store may append instead of rewriting. The default implementation saves the whole message.
    /// </remarks>
    ValueTask SavePartAsync(SessionMessage message, MessagePart part, string? appendedText = null, CancellationToken cancellationToken = default)
        => SaveMessageAsync(message, cancellationToken);

    /// <summary>
    /// Persists several changes to the parts of one message at once: afterwards the stored message must equal
    /// <paramref name="message"/> (its own fields and every part), as after calling <see cref="SavePartAsync"/> for each
    /// change in order.
    /// </summary>
    /// <param name="message">The message, with its current fields and parts.</param>
    /// <param name="changes">
    /// The parts that are new or changed since the message was last saved, each at most once, in the order of the
    /// message's parts; empty stores the message's own fields only.
    /// </param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when every change is durably stored.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="message"/>, <paramref name="changes"/> or a change's part is null.</exception>
    /// <exception cref="ArgumentException">An id of the message or of one of the parts is not valid, or two changes name the same part.</exception>
    /// <remarks>
    /// The engine gathers the part changes of a step and writes them together at the points its durability promises
    /// need (a tool call is stored as running before the tool runs; streamed text about once a second; the message
    /// when it completes), so a store that overrides this method can write them in one transaction, batch or append.
    /// A store should make the changes atomic where it can (all or none after a crash); the engine does not rely on it.
    /// The default implementation calls <see cref="SavePartAsync"/> once per change, or
    /// <see cref="SaveMessageAsync"/> when there is none.
    /// </remarks>
    async ValueTask SavePartsAsync(SessionMessage message, IReadOnlyList<MessagePartChange> changes, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateParts(message, changes);
        if (changes.Count == 0)
        {
            await SaveMessageAsync(message, cancellationToken).ConfigureAwait(false);
            return;
        }

        foreach (var change in changes)
        {
            await SavePartAsync(message, change.Part, change.AppendedText, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A stamp of the session's messages as stored now: a value that changes whenever a message of the session is saved or
    /// deleted (by any process or instance sharing the store), or null when the store cannot tell.
    /// </summary>
    /// <remarks>
    /// The engine keeps the messages of a session whose turn it ran recently and reuses them for the next turn when the
    /// stamp read before that turn equals the one read after the last (both with the session's lock held), instead of
    /// reading every message again. A stamp must therefore never repeat for different contents of the same session, and
    /// reading it should cost far less than reading the messages. The default implementation returns null ("unknown"):
    /// the engine then reads the messages for every turn, as it always did.
    /// </remarks>
    /// <param name="sessionId">The session's id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The stamp, compared only for equality; or null.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    ValueTask<string?> GetMessagesStampAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        return ValueTask.FromResult<string?>(null);
    }

    /// <summary>
    /// Deletes some messages of a session (with their parts), leaving the session and its other messages as they are.
    /// Ids that name no stored message are ignored. Used when a reverted part of a conversation is discarded.
    /// </summary>
    /// <param name="sessionId">The session the messages belong to.</param>
    /// <param name="messageIds">The ids of the messages to delete; empty deletes nothing.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many messages were deleted.</returns>
    /// <exception cref="ArgumentException">An id is malformed (the message names it).</exception>
    /// <exception cref="NotSupportedException">The store does not implement this method (the default implementation);
    /// <see cref="ISessionService.RevertAsync"/> is then not available over it.</exception>
    /// <remarks>
    /// Must be atomic where the store can do it: after a crash, either every listed message is gone or none is.
    /// The default implementation throws <see cref="NotSupportedException"/>, so stores written before this
    /// method existed keep compiling.
    /// </remarks>
    ValueTask<int> DeleteMessagesAsync(string sessionId, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken = default)
        => throw new NotSupportedException($"{GetType().Name} does not implement ISessionStore.DeleteMessagesAsync.");
}
