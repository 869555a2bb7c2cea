namespace AgentCore;

/// <summary>
/// A usage history: one entry when a turn starts and one when it ends. The default writes
/// <c>&lt;DataDirectory&gt;/sessions.jsonl</c> in letta-code's format.
/// </summary>
public interface ISessionHistory
{
    /// <summary>Records the start of a turn.</summary>
    /// <param name="entry">The entry to record.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the entry is recorded.</returns>
    ValueTask RecordStartAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Records the end of a turn with its usage, duration, cost and exit reason.</summary>
    /// <param name="entry">The entry to record.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the entry is recorded.</returns>
    ValueTask RecordEndAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Streams every entry in the order written, skipping corrupt ones with a warning.</summary>
    /// <param name="cancellationToken">Stops the reading.</param>
    /// <returns>The entries, oldest first.</returns>
    IAsyncEnumerable<SessionHistoryEntry> ReadAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every entry of the given sessions, when the history can. <see cref="ISessionService.PurgeAsync"/> calls it
    /// for the sessions it deleted.
    /// </summary>
    /// <param name="sessionIds">The sessions whose entries go; empty deletes nothing.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many entries were deleted.</returns>
    /// <remarks>
    /// The default implementation keeps every entry and returns 0: an append-only history (such as
    /// <see cref="JsonlSessionHistory"/>, whose file other programs append to) is a usage ledger that outlives sessions.
    /// </remarks>
    ValueTask<int> DeleteSessionsAsync(IReadOnlyCollection<string> sessionIds, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(0);
}
