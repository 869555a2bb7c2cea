namespace AgentCore;

/// <summary>
/// How one SQL store spells the schema both stores share (<see cref="StoreSchema"/>): the prefix of its names and the
/// column types it maps each kind of value to.
/// </summary>
/// <remarks>Linked source (<c>src/Shared/Sql</c>), compiled into each SQL store package as an internal type.</remarks>
internal sealed class SqlDialect
{
    /// <summary>The prefix of every table and index name (none in AgentCore's own SQLite file; <c>agentcore_</c> in a shared PostgreSQL database).</summary>
    public required string Prefix { get; init; }

    /// <summary>Text (JSON, names, ids in the schema 1 tables).</summary>
    public required string Text { get; init; }

    /// <summary>Text that compares and sorts byte by byte (ids, metadata keys and values): the order a load merges rows in.</summary>
    public required string OrdinalText { get; init; }

    /// <summary>A UTC time.</summary>
    public required string Time { get; init; }

    /// <summary>A 64-bit count (tokens).</summary>
    public required string Count { get; init; }

    /// <summary>A 32-bit number (a part's position).</summary>
    public required string Position { get; init; }

    /// <summary>An exact decimal amount of US dollars.</summary>
    public required string Money { get; init; }

    /// <summary>True or false.</summary>
    public required string Boolean { get; init; }

    /// <summary>Bytes (UTF-8 text appended to while it streams).</summary>
    public required string Bytes { get; init; }

    /// <summary>What follows the closing parenthesis of a table whose rows are read by their primary key (SQLite's <c>WITHOUT ROWID</c>).</summary>
    public required string KeyedTable { get; init; }

    /// <summary>
    /// The type of a message time's ticks below <see cref="Time"/>'s precision (0-9 ticks of 100 ns below a microsecond),
    /// kept in a column of its own beside the time; null where <see cref="Time"/> holds every tick.
    /// </summary>
    public string? ExtraTicks { get; init; }

    /// <summary>The column definition holding <paramref name="column"/>'s ticks below <see cref="Time"/>'s precision, followed by a comma; empty where there is none.</summary>
    /// <param name="column">The time column.</param>
    /// <param name="constraint">The column's constraint (<c>NOT NULL</c>, or empty).</param>
    /// <returns>The definition, or an empty string.</returns>
    public string ExtraTicksOf(string column, string constraint) =>
        ExtraTicks is null ? "" : $"{column}_extra_ticks {string.Join(' ', ExtraTicks, constraint).TrimEnd()},";
}
