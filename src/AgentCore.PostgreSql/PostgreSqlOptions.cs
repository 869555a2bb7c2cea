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
}
