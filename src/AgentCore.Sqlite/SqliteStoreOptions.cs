using System.Diagnostics.CodeAnalysis;

namespace AgentCore;

/// <summary>Settings of the SQLite store and of its session lock (see <c>UseSqlite</c>).</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>
    /// The database, as a file path or a connection string with a <c>Data Source</c>: read by <c>UseSqlite(IConfiguration)</c>
    /// (the <c>UseSqlite(string)</c> overload takes it as its argument and ignores this). Default: none.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// How long a write keeps retrying while another connection or process holds the database's write lock
    /// (<c>SQLITE_BUSY</c>) before it fails. Default 30 seconds.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether <c>UseSqlite</c> also replaces the session busy lock with a <see cref="FileSessionLockProvider"/> on the folder
    /// <c>&lt;database&gt;.locks</c>, which holds across the processes sharing the database file. Default true.
    /// </summary>
    public bool UseSessionLock { get; set; } = true;

    /// <summary>How often a held session lock checks for an abort requested by another process. Default 250 ms.</summary>
    public TimeSpan AbortPollInterval { get; set; } = FileSessionLockProvider.DefaultAbortPollInterval;

    /// <summary>Throws for a value out of range, naming the setting (after <paramref name="settingPrefix"/>, a configuration path) and the value.</summary>
    [SuppressMessage("Usage", "CA2208:Instantiate argument exceptions correctly",
        Justification = "The exception names the setting at fault, which is a property of these options, not a parameter.")]
    internal void Validate(string? settingPrefix = null)
    {
        if (BusyTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(BusyTimeout), BusyTimeout, $"{settingPrefix}{nameof(BusyTimeout)} must be positive (it is {BusyTimeout}).");
        }

        if (AbortPollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(AbortPollInterval), AbortPollInterval, $"{settingPrefix}{nameof(AbortPollInterval)} must be positive (it is {AbortPollInterval}).");
        }
    }
}
