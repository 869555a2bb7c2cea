using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>
/// Loading a session for a turn or a summary: the messages a revert took out are discarded, what a dead process left
/// open is closed and accounted, and the totals are brought up to date with the messages.
/// </summary>
internal sealed partial class SessionRuntime
{
    /// <summary>
    /// Loads a session and its messages for a turn (or a summary), repairing what a dead process left: an assistant
    /// message left open is completed as interrupted (its unanswered tool calls get an error result, so the next prompt
    /// is valid) and gets the usage-history end entry its turn never wrote (exit reason <c>interrupted</c>); then the
    /// session's totals are brought up to date with its messages (see <see cref="SessionTotals.Reconcile"/>).
    /// </summary>
    /// <remarks>
    /// <para>Taking the lease proves the session's lock is held: with a lock that holds across processes, an open message
    /// then belongs to no live turn anywhere. Only open messages are closed: a completed message is left as it is,
    /// whatever the state of its tool parts.</para>
    /// <para>When this process kept the session's conversation after its last turn (<see cref="Conversations"/>) and the
    /// store's stamp of the messages has not changed since, the messages are not read again: they are the ones that turn
    /// left, every one completed, so there is nothing to repair in them. The returned <see cref="LoadedSession.Kept"/>
    /// then has that turn's last prompt too.</para>
    /// </remarks>
    /// <exception cref="SessionNotFoundException">The session does not exist.</exception>
    public async Task<LoadedSession> LoadForTurnAsync(ISessionLease lease, CancellationToken cancellationToken)
    {
        string sessionId = lease.SessionId;
        var session = await Store.GetSessionAsync(sessionId, cancellationToken).ConfigureAwait(false)
                      ?? throw new SessionNotFoundException(sessionId);
        string? stamp = await Store.GetMessagesStampAsync(sessionId, cancellationToken).ConfigureAwait(false);
        var kept = stamp is null ? null : Conversations.Take(sessionId, stamp);
        if (kept is not null && session.RevertedAfter is null)
        {
            return new LoadedSession(await ReconcileLoadedAsync(session, kept.Messages, ended: [], cancellationToken).ConfigureAwait(false), kept.Messages, kept);
        }

        var messages = await Store.GetMessagesAsync(sessionId, cancellationToken).ConfigureAwait(false);
        (session, messages) = await DiscardRevertedAsync(session, messages, cancellationToken).ConfigureAwait(false);
        var ended = new List<SessionMessage>();
        for (int i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message.Role != ChatRole.Assistant)
            {
                continue;
            }

            // With the lock held no turn runs: the calls still pending or running are dead — every one of an open
            // message, and in a completed message those an approval answer had started (it runs them in the message
            // that asked). A completed message's other parts are left as they are.
            bool open = message.CompletedAt is null;
            var now = Time.GetUtcNow();
            bool closedAny = false;
            foreach (var tool in message.Parts.OfType<ToolPart>())
            {
                if (tool.State is ToolState.Pending or ToolState.Running && (open || tool.Approval is not null))
                {
                    tool.State = ToolState.Error;
                    tool.Error = "interrupted: the process running this tool stopped before it returned";
                    tool.EndedAt = now;
                    closedAny = true;
                }
            }

            if (!open)
            {
                if (closedAny)
                {
                    await Store.SaveMessageAsync(message, CancellationToken.None).ConfigureAwait(false);
                }

                continue;
            }

            message.Error = new MessageError(MessageErrorKind.Interrupted, "The turn was interrupted: the process running it stopped.");
            message.CompletedAt = now;
            await Store.SaveMessageAsync(message, CancellationToken.None).ConfigureAwait(false);
            LogRecovered(sessionId, message.Id);
            await RecordHistoryAsync(InterruptedTurnEntry(message, i + 1)).ConfigureAwait(false);
            ended.Add(message);
        }

        return new LoadedSession(await ReconcileLoadedAsync(session, messages, ended, cancellationToken).ConfigureAwait(false), messages, Kept: null);
    }

    /// <summary>
    /// Brings a loaded session's totals up to date with its messages, writing the usage-history end entry of a completed
    /// reply whose turn died before writing it (<paramref name="ended"/>: the replies recovery just closed, which got theirs).
    /// </summary>
    private async Task<SessionInfo> ReconcileLoadedAsync(SessionInfo session, IReadOnlyList<SessionMessage> messages, List<SessionMessage> ended, CancellationToken cancellationToken)
    {
        string sessionId = session.Id;

        // A completed reply the totals lack: its turn died after completing it, before or after writing its history end entry.
        if (session.TotalsCheckpoint is { } checkpoint)
        {
            for (int i = messages.Count - 1; i >= 0 && string.CompareOrdinal(messages[i].Id, checkpoint.MessageId) > 0; i--)
            {
                var message = messages[i];
                if (message is { IsSummary: false } && message.Role == ChatRole.Assistant && !ended.Contains(message) &&
                    !await HasEndEntryAsync(sessionId, message.CreatedAt, cancellationToken).ConfigureAwait(false))
                {
                    await RecordHistoryAsync(InterruptedTurnEntry(message, i + 1)).ConfigureAwait(false);
                }
            }
        }

        if (SessionTotals.Reconcile(session, messages) is var reconciled && !ReferenceEquals(reconciled, session))
        {
            LogTotalsReconciled(sessionId);
            session = await ReconcileTotalsAsync(sessionId, messages).ConfigureAwait(false) ?? throw new SessionNotFoundException(sessionId);
        }

        return session;
    }

    /// <summary>Whether the usage history has an end entry of the session written at or after <paramref name="since"/> (read only after a crash).</summary>
    private async Task<bool> HasEndEntryAsync(string sessionId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        long sinceMs = since.ToUnixTimeMilliseconds();
        try
        {
            await foreach (var entry in History.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (entry.ExitReason is not null && entry.SessionId == sessionId && entry.Timestamp >= sinceMs)
                {
                    return true;
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogHistoryFailed(ex, sessionId);
            return true; // Unreadable: writing another entry could count the turn twice.
        }

        return false;
    }

    /// <summary>The usage-history end entry of a turn whose process died: what its message recorded, exit reason <c>interrupted</c>.</summary>
    private SessionHistoryEntry InterruptedTurnEntry(SessionMessage message, int messageCount)
    {
        var apiTime = TimeSpan.Zero;
        int steps = 0, toolCalls = 0;
        long? contextTokens = null;
        DateTimeOffset? stepStarted = null;
        DateTimeOffset lastSeen = message.CreatedAt;
        foreach (var part in message.Parts)
        {
            switch (part)
            {
                case StepStartPart start:
                    stepStarted = start.StartedAt;
                    lastSeen = Max(lastSeen, start.StartedAt);
                    break;
                case StepFinishPart finish:
                    if (stepStarted is { } started)
                    {
                        apiTime += finish.EndedAt - started;
                    }

                    stepStarted = null;
                    steps++;
                    contextTokens = finish.Tokens.Total;
                    lastSeen = Max(lastSeen, finish.EndedAt);
                    break;
                case ToolPart tool:
                    toolCalls += tool.StartedAt is null ? 0 : 1;
                    lastSeen = Max(lastSeen, tool.EndedAt ?? tool.StartedAt ?? lastSeen);
                    break;
            }
        }

        var duration = new HistoryDuration
        {
            ApiMs = Math.Round(Math.Max(0, apiTime.TotalMilliseconds)),
            WallMs = Math.Round(Math.Max(0, (lastSeen - message.CreatedAt).TotalMilliseconds)),
        };
        return HistoryEntry(
            message.SessionId, message.ProviderId ?? "", message.ModelId ?? "", ExitReason.Interrupted,
            SessionStats.HistoryUsageOf(message.Tokens, contextTokens, steps), duration, message.Cost, messageCount, toolCalls);
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>
    /// Deletes the messages a revert took out of the session's conversation and clears the revert point, before a turn
    /// or a summary changes the conversation (the totals already leave them out). Call with the session's lock held.
    /// </summary>
    /// <returns>The session and the messages left.</returns>
    private async Task<(SessionInfo Session, IReadOnlyList<SessionMessage> Messages)> DiscardRevertedAsync(
        SessionInfo session, IReadOnlyList<SessionMessage> messages, CancellationToken cancellationToken)
    {
        if (session.RevertedAfter is not { } point)
        {
            return (session, messages);
        }

        var kept = InConversation(session, messages);
        var doomed = messages.Skip(kept.Count).Select(static m => m.Id).ToList();
        await Store.DeleteMessagesAsync(session.Id, doomed, cancellationToken).ConfigureAwait(false);
        var updated = await ChangeSessionAsync(session.Id, s => s with { RevertedAfter = null }, cancellationToken).ConfigureAwait(false)
                      ?? throw new SessionNotFoundException(session.Id);
        LogRevertDiscarded(session.Id, doomed.Count, point);
        return (updated, kept);
    }

    /// <summary>The messages in the conversation: all of them, or those up to <see cref="SessionInfo.RevertedAfter"/>.</summary>
    public static IReadOnlyList<SessionMessage> InConversation(SessionInfo session, IReadOnlyList<SessionMessage> messages)
    {
        if (session.RevertedAfter is not { } point)
        {
            return messages;
        }

        int count = 0;
        while (count < messages.Count && string.CompareOrdinal(messages[count].Id, point) <= 0)
        {
            count++;
        }

        return count == messages.Count ? messages : messages.Take(count).ToList();
    }

    /// <summary>A session loaded for a turn: the session, its messages, and what the last turn kept of them.</summary>
    /// <param name="Session">The session, its totals up to date.</param>
    /// <param name="Messages">Its messages in the conversation, repaired.</param>
    /// <param name="Kept">The conversation the last turn here kept (<see cref="Messages"/> are its messages); null when they were read from the store.</param>
    public sealed record LoadedSession(SessionInfo Session, IReadOnlyList<SessionMessage> Messages, KeptConversation? Kept);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: message {MessageId} was left open by a process that stopped; closed it as interrupted")]
    private partial void LogRecovered(string sessionId, string messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: its totals lacked usage a stopped process had recorded in its messages; brought them up to date")]
    private partial void LogTotalsReconciled(string sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: discarded {Count} messages reverted after {MessageId}")]
    private partial void LogRevertDiscarded(string sessionId, int count, string messageId);
}
