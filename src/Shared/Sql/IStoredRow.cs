namespace AgentCore;

/// <summary>
/// One row of a SQL store's result, as <see cref="StoredRowReader"/> reads it: the SQLite store reads straight from
/// SQLite's memory, the PostgreSQL store from Npgsql's data reader.
/// </summary>
/// <remarks>
/// Linked source (<c>src/Shared/Sql</c>). Both stores select the same columns in the same order and types (see
/// <see cref="StoredRowReader"/>): integers for times (UTC ticks) and flags, text for decimals.
/// </remarks>
internal interface IStoredRow
{
    /// <summary>Whether column <paramref name="column"/> is NULL.</summary>
    bool IsNull(int column);

    /// <summary>Whether column <paramref name="column"/> holds an integer (not NULL, not text).</summary>
    bool IsInteger(int column);

    /// <summary>Column <paramref name="column"/> as an integer.</summary>
    long Int64(int column);

    /// <summary>Column <paramref name="column"/>'s bytes (UTF-8 for text), valid until the row moves on.</summary>
    ReadOnlySpan<byte> Bytes(int column);

    /// <summary>Column <paramref name="column"/> as a string.</summary>
    string String(int column);
}
