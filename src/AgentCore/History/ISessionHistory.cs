namespace AgentCore;

/// <summary>
/// A usage history: one entry when a turn starts and one when it ends. The default writes
/// <c>&lt;DataDirectory&gt;/sessions.jsonl</c> in letta-code's format.
/// </summary>
public interface ISessionHistory
{
    /// <summary>Records the start of a turn.</summary>
    ValueTask RecordStartAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Records the end of a turn with its usage, duration, cost and exit reason.</summary>
    ValueTask RecordEndAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Streams every entry in the order written, skipping corrupt ones with a warning.</summary>
    IAsyncEnumerable<SessionHistoryEntry> ReadAsync(CancellationToken cancellationToken = default);
}
