using Npgsql;

namespace AgentCore;

/// <summary>
/// The current row of an <see cref="NpgsqlDataReader"/> as <see cref="StoredRowReader"/> reads it: text and
/// <c>bytea</c> columns as raw bytes (UTF-8 for text) read into reused buffers, so JSON parses from UTF-8 without a
/// string in between.
/// </summary>
internal readonly struct NpgsqlRow(NpgsqlDataReader reader, NpgsqlRow.Buffers buffers) : IStoredRow
{
    public bool IsNull(int column) => reader.IsDBNull(column);

    // The stores' integer columns are typed: any value there is an integer.
    public bool IsInteger(int column) => !reader.IsDBNull(column);

    public long Int64(int column) => reader.GetInt64(column);

    public string String(int column) => reader.GetString(column);

    /// <summary>The raw bytes of column <paramref name="column"/>; valid until the next read of the same column.</summary>
    public ReadOnlySpan<byte> Bytes(int column)
    {
        using var stream = reader.GetStream(column);
        int length = checked((int)stream.Length);
        byte[] bytes = buffers.For(column, length);
        stream.ReadExactly(bytes, 0, length);
        return bytes.AsSpan(0, length);
    }

    /// <summary>A buffer per column, grown as needed and reused from row to row.</summary>
    internal sealed class Buffers
    {
        private byte[][] _byColumn = [];

        public byte[] For(int column, int length)
        {
            if (_byColumn.Length <= column)
            {
                Array.Resize(ref _byColumn, column + 1);
            }

            ref byte[] bytes = ref _byColumn[column];
            if (bytes is null || bytes.Length < length)
            {
                bytes = new byte[Math.Max(length, Math.Max(256, (bytes?.Length ?? 0) * 2))];
            }

            return bytes;
        }
    }
}
