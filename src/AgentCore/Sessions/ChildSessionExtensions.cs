using System.Runtime.CompilerServices;

namespace AgentCore;

/// <summary>
/// Child sessions on an <see cref="ISessionService"/>: the sessions a sub-agent ran in for a parent session (see
/// <see cref="SubAgentDefinition"/>), listed, and their usage rolled up into the parent's. A child is a session whose
/// <see cref="SessionInfo.ParentId"/> is the parent and whose <see cref="SessionInfo.Metadata"/> holds
/// <see cref="SubAgentMetadataKey"/>; a fork also has a parent but is a copy, not a child, and is never rolled up.
/// </summary>
public static class ChildSessionExtensions
{
    /// <summary>The <see cref="SessionInfo.Metadata"/> key that marks a sub-agent child session; its value is the sub-agent's name.</summary>
    public const string SubAgentMetadataKey = "agentcore.subagent";

    /// <summary>
    /// The <see cref="ToolPart.Metadata"/> key under which a sub-agent call's part in the parent holds the child session's
    /// id (a JSON string), linking the call to the conversation it ran.
    /// </summary>
    public const string ChildSessionIdMetadataKey = "childSessionId";

    /// <summary>
    /// Creates a sub-agent child session of <paramref name="parentId"/>: <see cref="SessionInfo.ParentId"/> set and
    /// <see cref="SubAgentMetadataKey"/> = <paramref name="agentName"/> in its metadata. Run its turns with
    /// <see cref="ISessionService.ChatStreamingAsync"/> as for any session; <c>AddSubAgent</c> does this for the model.
    /// </summary>
    /// <param name="sessions">The session service.</param>
    /// <param name="parentId">The parent session, which must exist.</param>
    /// <param name="agentName">The sub-agent's name (a tool name: 1 to 64 letters, digits, <c>_</c> or <c>-</c>).</param>
    /// <param name="title">The child's title; null for the default (a title is then generated after its first turn, when titles are on).</param>
    /// <param name="cancellationToken">Cancels the creation.</param>
    /// <returns>The new child session.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sessions"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="parentId"/> is not a valid session id, or <paramref name="agentName"/> is not a valid tool name.</exception>
    /// <exception cref="SessionNotFoundException">There is no session <paramref name="parentId"/>.</exception>
    public static async Task<SessionInfo> CreateChildAsync(
        this ISessionService sessions, string parentId, string agentName, string? title = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        Identifier.Validate(parentId, IdKind.Session, nameof(parentId));
        ToolNames.Validate(agentName, nameof(agentName));
        await sessions.GetAsync(parentId, cancellationToken).ConfigureAwait(false);   // the parent must exist
        return await sessions.CreateAsync(new CreateSessionRequest
        {
            ParentId = parentId,
            Title = title,
            Metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [SubAgentMetadataKey] = agentName },
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Lists the sub-agent child sessions of a session (one level: not their own children), newest first. Runs
    /// <see cref="ISessionService.ListAsync(SessionQuery, CancellationToken)"/> with the parent filter page by page,
    /// so the SQL stores read them from their parent index; forks of the session are left out.
    /// </summary>
    /// <param name="sessions">The session service.</param>
    /// <param name="sessionId">The parent session.</param>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <returns>The children, newest first.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sessions"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    public static IAsyncEnumerable<SessionInfo> ListChildrenAsync(this ISessionService sessions, string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        return ListChildren(sessions, sessionId, cancellationToken);
    }

    /// <summary>
    /// Rolls a session's usage up with its sub-agent children's, at every depth: its own tokens and cost, the
    /// children's, and both together. Totals are derived state, so each session's figure is counted from its messages
    /// as its next turn would reconcile it (<see cref="SessionInfo.TotalsCheckpoint"/>) — exact after a crash, even for a
    /// child whose turn a crash interrupted and which no turn has loaded since. Nothing is written.
    /// </summary>
    /// <param name="sessions">The session service.</param>
    /// <param name="sessionId">The session.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The session's usage, own and including its children.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sessions"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    public static async Task<SessionUsage> GetUsageAsync(this ISessionService sessions, string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        var own = await CountedAsync(sessions, await sessions.GetAsync(sessionId, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        TokenUsage childTokens = default;
        decimal childCost = 0m;
        int children = 0;
        var visited = new HashSet<string>(StringComparer.Ordinal) { sessionId };
        var pending = new Stack<string>();
        pending.Push(sessionId);
        while (pending.TryPop(out string? parent))
        {
            await foreach (var child in ListChildren(sessions, parent, cancellationToken).ConfigureAwait(false))
            {
                if (!visited.Add(child.Id))
                {
                    continue;   // a cycle of parent ids written by hand: count each session once
                }

                var counted = await CountedAsync(sessions, child, cancellationToken).ConfigureAwait(false);
                childTokens += counted.Tokens;
                childCost += counted.Cost;
                children++;
                pending.Push(child.Id);
            }
        }

        return new SessionUsage(sessionId, own.Tokens, own.Cost, childTokens, childCost, children);
    }

    /// <summary>The session's totals brought up to date with its messages, in memory (what its next turn would write).</summary>
    private static async Task<SessionInfo> CountedAsync(ISessionService sessions, SessionInfo session, CancellationToken cancellationToken)
    {
        IReadOnlyList<SessionMessage> messages;
        try
        {
            messages = await sessions.GetMessagesAsync(session.Id, cancellationToken).ConfigureAwait(false);
        }
        catch (SessionNotFoundException)
        {
            return session;   // deleted since it was listed: its totals as listed
        }

        return SessionTotals.Reconcile(session, messages);
    }

    private static async IAsyncEnumerable<SessionInfo> ListChildren(ISessionService sessions, string parentId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? cursor = null;
        do
        {
            var page = await sessions.ListAsync(new SessionQuery { ParentId = parentId, PageSize = SessionQuery.MaxPageSize, Cursor = cursor }, cancellationToken)
                .ConfigureAwait(false);
            foreach (var session in page.Sessions)
            {
                if (session.Metadata.ContainsKey(SubAgentMetadataKey))
                {
                    yield return session;
                }
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }
}
