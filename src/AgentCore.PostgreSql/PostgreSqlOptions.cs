namespace AgentCore;

/// <summary>What <c>UsePostgreSql</c> puts in the PostgreSQL database besides the sessions.</summary>
public sealed class PostgreSqlOptions
{
    /// <summary>
    /// The Npgsql connection string: read by <c>UsePostgreSql(IConfiguration)</c> (the <c>UsePostgreSql(string)</c> overload
    /// takes it as its argument and ignores this). Default: none.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Whether the session busy lock becomes <see cref="PostgreSqlSessionLockProvider"/>, holding across every app instance
    /// on the database, with an abort that reaches the instance running the turn. Default true.
    /// </summary>
    public bool UseSessionLock { get; set; } = true;

    /// <summary>Whether the usage history goes to the database too (<see cref="PostgreSqlSessionHistory"/>). Default true.</summary>
    public bool UseHistory { get; set; } = true;

    /// <summary>
    /// Whether session events cross instances through the database: a subscriber on one instance
    /// (<see cref="ISessionEvents.SubscribeAsync(string?, long?, CancellationToken)"/>) receives, and can replay, the events of
    /// a turn running on another. Costs one write per batch of a turn's events (an <c>agentcore_events</c> table) and one
    /// listening connection per instance. Default false: a single instance, or one that streams a turn only to the request
    /// that started it, does not need it. See <c>docs/scaling-out.md</c>.
    /// </summary>
    public bool UseEvents { get; set; }

    /// <summary>How long events stay in the database for replay when <see cref="UseEvents"/> is on (default 1 hour).</summary>
    public TimeSpan EventRetention { get; set; } = TimeSpan.FromHours(1);
}
