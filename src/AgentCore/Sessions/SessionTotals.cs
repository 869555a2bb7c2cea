namespace AgentCore;

/// <summary>
/// Totals are derived state: a session's <see cref="SessionInfo.Tokens"/> and <see cref="SessionInfo.Cost"/> are the
/// sum over its messages plus the usage of no message (titles), and <see cref="SessionTotalsCheckpoint"/> says how far
/// they are counted. These functions compute a session's new totals; the caller writes the result in one session write.
/// </summary>
internal static class SessionTotals
{
    /// <summary>
    /// Brings the totals up to date with <paramref name="messages"/>: adds the usage of every message newer than the
    /// checkpoint (and the growth of the checkpoint's own message), in O(new messages). Recomputes everything when the
    /// session has no checkpoint (written by an earlier version or by a store that does not keep it) or when the
    /// checkpoint's message is gone. Returns <paramref name="session"/> itself when nothing changes.
    /// </summary>
    /// <param name="session">The session as stored.</param>
    /// <param name="messages">
    /// Every message of the session, each once, in ascending id order — except that the messages newer than the
    /// checkpoint may come in any order, as long as they come after all the older ones (a turn appends what it wrote).
    /// </param>
    public static SessionInfo Reconcile(SessionInfo session, IReadOnlyList<SessionMessage> messages)
    {
        if (session.TotalsCheckpoint is not { } checkpoint)
        {
            return Recompute(session, messages, SessionTotalsCheckpoint.Empty);
        }

        TokenUsage tokens = default;
        decimal cost = 0m;
        bool checkpointFound = checkpoint.MessageId is null;
        SessionMessage? newest = null;
        List<string>? visited = null;
        for (int i = messages.Count - 1; i >= 0; i--)
        {
            var message = messages[i];
            int order = checkpoint.MessageId is null ? 1 : string.CompareOrdinal(message.Id, checkpoint.MessageId);
            if (order < 0)
            {
                break;
            }

            visited ??= [];
            if (visited.Contains(message.Id))
            {
                continue;
            }

            visited.Add(message.Id);
            if (order == 0)
            {
                checkpointFound = true;
                tokens += Difference(message.Tokens, checkpoint.MessageTokens);
                cost += message.Cost - checkpoint.MessageCost;
            }
            else
            {
                tokens += message.Tokens;
                cost += message.Cost;
            }

            if (newest is null || string.CompareOrdinal(message.Id, newest.Id) > 0)
            {
                newest = message;
            }
        }

        if (!checkpointFound)
        {
            // Messages the totals counted were removed: count again from scratch, keeping the usage of no message.
            return Recompute(session, messages, checkpoint);
        }

        if (newest is null || (newest.Id == checkpoint.MessageId && tokens == default && cost == 0m))
        {
            return session;
        }

        return session with
        {
            Tokens = session.Tokens + tokens,
            Cost = session.Cost + cost,
            TotalsCheckpoint = checkpoint with { MessageId = newest.Id, MessageTokens = newest.Tokens, MessageCost = newest.Cost },
        };
    }

    /// <summary>
    /// Adds usage that belongs to no message (a generated title's, for example) to the totals and to the checkpoint's
    /// record of such usage, so a later recount keeps it. Compose it into the same session write as the change it goes with.
    /// A session without a checkpoint (written by an earlier version, or cleared by a writer that added tokens) has no
    /// record to keep that usage in: given its <paramref name="messages"/>, its totals are first recounted from them, which
    /// gives it one; without them a later recount loses the usage.
    /// </summary>
    /// <param name="session">The session as stored.</param>
    /// <param name="tokens">The usage to add.</param>
    /// <param name="cost">Its cost.</param>
    /// <param name="messages">The session's messages, as <see cref="Reconcile"/> takes them; needed only when the session has no checkpoint.</param>
    public static SessionInfo AddOutsideMessages(SessionInfo session, TokenUsage tokens, decimal cost, IReadOnlyList<SessionMessage>? messages = null)
    {
        if (session.TotalsCheckpoint is null && messages is not null)
        {
            session = Recompute(session, messages, SessionTotalsCheckpoint.Empty);
        }

        return session with
        {
            Tokens = session.Tokens + tokens,
            Cost = session.Cost + cost,
            TotalsCheckpoint = session.TotalsCheckpoint is { } checkpoint
                ? checkpoint with { OtherTokens = checkpoint.OtherTokens + tokens, OtherCost = checkpoint.OtherCost + cost }
                : null,
        };
    }

    private static SessionInfo Recompute(SessionInfo session, IReadOnlyList<SessionMessage> messages, SessionTotalsCheckpoint previous)
    {
        TokenUsage tokens = previous.OtherTokens;
        decimal cost = previous.OtherCost;
        SessionMessage? newest = null;
        foreach (var message in messages)
        {
            tokens += message.Tokens;
            cost += message.Cost;
            if (newest is null || string.CompareOrdinal(message.Id, newest.Id) > 0)
            {
                newest = message;
            }
        }

        var checkpoint = previous with { MessageId = newest?.Id, MessageTokens = newest?.Tokens ?? default, MessageCost = newest?.Cost ?? 0m };
        return session.Tokens == tokens && session.Cost == cost && session.TotalsCheckpoint == checkpoint
            ? session
            : session with { Tokens = tokens, Cost = cost, TotalsCheckpoint = checkpoint };
    }

    private static TokenUsage Difference(TokenUsage now, TokenUsage counted) => new(
        now.Input - counted.Input, now.Output - counted.Output, now.Reasoning - counted.Reasoning,
        now.CacheRead - counted.CacheRead, now.CacheWrite - counted.CacheWrite);
}
