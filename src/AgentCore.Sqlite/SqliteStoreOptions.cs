namespace AgentCore;

/// <summary>Settings of the SQLite store and of its session lock (see <c>UseSqlite</c>).</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>
    /// How long a write keeps retrying while another connection or process holds the database's write lock
    /// (<c>SQLITE_BUSY</c>) before it fails. Default 30 seconds.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether <c>UseSqlite</c> also replaces the session busy lock with <see cref="SqliteSessionLockProvider"/>, which holds
    /// across the processes sharing the database file. Default true.
    /// </summary>
    public bool UseSessionLock { get; set; } = true;

    /// <summary>How often a held session lock checks for an abort requested by another process. Default 250 ms.</summary>
    public TimeSpan AbortPollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    internal void Validate()
    {
        if (BusyTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(BusyTimeout), BusyTimeout, "BusyTimeout must be positive.");
        }

        if (AbortPollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(AbortPollInterval), AbortPollInterval, "AbortPollInterval must be positive.");
        }
    }
}
