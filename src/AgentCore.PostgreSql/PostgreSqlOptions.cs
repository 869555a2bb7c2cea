namespace AgentCore;

/// <summary>What <c>UsePostgreSql</c> puts in the PostgreSQL database besides the sessions.</summary>
public sealed class PostgreSqlOptions
{
    /// <summary>
    /// Whether the session busy lock becomes <see cref="PostgresSessionLockProvider"/>, holding across every app instance
    /// on the database, with an abort that reaches the instance running the turn. Default true.
    /// </summary>
    public bool UseSessionLock { get; set; } = true;

    /// <summary>Whether the usage history goes to the database too (<see cref="PostgresSessionHistory"/>). Default true.</summary>
    public bool UseHistory { get; set; } = true;
}
