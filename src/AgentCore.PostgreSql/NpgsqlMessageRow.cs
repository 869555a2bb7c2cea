using Npgsql;

namespace AgentCore;

/// <summary>
/// A message row of <see cref="PostgreSqlSessionStore"/>'s load as <see cref="StoredRowReader"/> reads it: the columns of
/// <see cref="StoredRowReader.MessageColumns"/>, the two times as the server sends them (<c>timestamptz</c>, to the
/// microsecond), then their extra ticks (columns 16 and 17) and whether each is a time (18 and 19). The times read as UTC
/// ticks, as the SQLite store keeps them: the microseconds plus the extra ticks, or -1 when the column holds no time
/// (infinite, or extra ticks out of range), which the reader reports as a corrupt row.
/// </summary>
internal readonly struct NpgsqlMessageRow(NpgsqlDataReader reader, NpgsqlRow.Buffers buffers) : IStoredRow
{
    private const int CreatedAt = 2, CompletedAt = 3, ExtraTicks = 16, IsTime = 18;

    public bool IsNull(int column) => reader.IsDBNull(column);

    public bool IsInteger(int column) => !reader.IsDBNull(column);

    public long Int64(int column) => column is CreatedAt or CompletedAt ? Ticks(column) : reader.GetInt64(column);

    public string String(int column) => reader.GetString(column);

    public ReadOnlySpan<byte> Bytes(int column) => new NpgsqlRow(reader, buffers).Bytes(column);

    private long Ticks(int column)
    {
        int offset = column - CreatedAt;
        return reader.GetBoolean(IsTime + offset)
            ? reader.GetFieldValue<DateTime>(column).Ticks + reader.GetInt16(ExtraTicks + offset)
            : -1;
    }
}
