namespace AgentCore;

/// <summary>
/// How each SQL store spells the schema both share (<see cref="StoreSchema"/>) and its queries: the prefix of its names
/// and the column type of each kind of value, SQLite's and PostgreSQL's side by side.
/// </summary>
/// <remarks>
/// <para>Linked source (<c>src/Shared/Sql</c>), compiled into each SQL store package as an internal type.</para>
/// <para>
/// SQLite keeps times as UTC ticks (100 ns since 0001-01-01), costs as decimal text in the invariant culture, booleans as
/// 0 or 1, and compares text byte by byte (its default <c>BINARY</c> collation). PostgreSQL keeps times to the microsecond
/// (a message's times with their ticks below it in a column of their own, so they are exact) and ids collated "C".
/// </para>
/// </remarks>
internal sealed class SqlDialect
{
    /// <summary>AgentCore.Sqlite's spelling.</summary>
    public static readonly SqlDialect Sqlite = new(sqlite: true);

    /// <summary>AgentCore.PostgreSql's spelling.</summary>
    public static readonly SqlDialect PostgreSql = new(sqlite: false);

    private readonly bool _sqlite;

    private SqlDialect(bool sqlite) => _sqlite = sqlite;

    /// <summary>The prefix of every table and index name: none in AgentCore's own SQLite file; <c>agentcore_</c> in a PostgreSQL database it shares.</summary>
    public string Prefix => Of("", "agentcore_");

    /// <summary>Text (JSON, names, the ids of the schema 1 tables).</summary>
    public string Text => Of("TEXT", "text");

    /// <summary>Text that compares and sorts byte by byte (ids, metadata keys and values): the order a load merges rows in.</summary>
    public string OrdinalText => Of("TEXT", "text COLLATE \"C\"");

    /// <summary>A UTC time.</summary>
    public string Time => Of("INTEGER", "timestamptz");

    /// <summary>A 64-bit count (tokens).</summary>
    public string Count => Of("INTEGER", "bigint");

    /// <summary>A 32-bit number (a part's position).</summary>
    public string Position => Of("INTEGER", "integer");

    /// <summary>An exact decimal amount of US dollars.</summary>
    public string Money => Of("TEXT", "numeric");

    /// <summary>True or false.</summary>
    public string Boolean => Of("INTEGER", "boolean");

    /// <summary>Bytes (UTF-8 text appended to while it streams).</summary>
    public string Bytes => Of("BLOB", "bytea");

    /// <summary>What follows the closing parenthesis of a table whose rows are read by their primary key (SQLite's <c>WITHOUT ROWID</c>).</summary>
    public string KeyedTable => Of(" WITHOUT ROWID", "");

    /// <summary>
    /// The column definition, followed by a comma, that holds the 100 ns ticks of <paramref name="column"/> below
    /// <see cref="Time"/>'s precision (0-9 below a microsecond in PostgreSQL); empty where <see cref="Time"/> holds every tick.
    /// </summary>
    /// <param name="column">The time column.</param>
    /// <param name="constraint">The column's constraint (<c>NOT NULL</c>, or empty).</param>
    /// <returns>The definition, or an empty string.</returns>
    public string ExtraTicksOf(string column, string constraint) =>
        Of("", $"{column}_extra_ticks {string.Join(' ', "smallint", constraint).TrimEnd()},");

    private string Of(string sqlite, string postgreSql) => _sqlite ? sqlite : postgreSql;
}
