using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace AgentCore;

/// <summary>
/// A prepared SQLite statement read straight through SQLitePCL, for the store's bulk reads: values come as spans
/// over SQLite's own memory (no copy, no per-column type checks), which Microsoft.Data.Sqlite's data reader cannot do.
/// </summary>
/// <remarks>
/// Runs on a <see cref="SqliteConnection"/> the store opened, inside its transaction. An error step throws the same
/// <see cref="SqliteException"/> Microsoft.Data.Sqlite would, so the store's busy retry applies. A span is valid until
/// the next <see cref="Step"/>.
/// </remarks>
internal sealed class SqliteRows : IStoredRow, IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    private SqliteRows(sqlite3 db, sqlite3_stmt statement)
    {
        _db = db;
        _statement = statement;
    }

    /// <summary>Prepares <paramref name="sql"/> on <paramref name="connection"/>, binding <paramref name="text"/> to its parameters in order.</summary>
    public static SqliteRows Query(SqliteConnection connection, string sql, params string[] text)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        int rc = raw.sqlite3_prepare_v2(db, sql, out var statement);
        if (rc != raw.SQLITE_OK || statement is null)
        {
            statement?.Dispose();
            SqliteException.ThrowExceptionForRC(rc, db);
            throw new InvalidOperationException("The SQL holds no statement.");
        }

        var rows = new SqliteRows(db, statement);
        try
        {
            for (int i = 0; i < text.Length; i++)
            {
                rows.Check(raw.sqlite3_bind_text(statement, i + 1, text[i]));
            }
        }
        catch
        {
            rows.Dispose();
            throw;
        }

        return rows;
    }

    /// <summary>Moves to the next row; false after the last.</summary>
    public bool Step()
    {
        int rc = raw.sqlite3_step(_statement);
        if (rc == raw.SQLITE_ROW)
        {
            return true;
        }

        if (rc != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }

        return false;
    }

    /// <summary>Whether column <paramref name="i"/> is NULL.</summary>
    public bool IsNull(int i) => raw.sqlite3_column_type(_statement, i) == raw.SQLITE_NULL;

    /// <summary>Whether column <paramref name="i"/> holds an integer.</summary>
    public bool IsInteger(int i) => raw.sqlite3_column_type(_statement, i) == raw.SQLITE_INTEGER;

    /// <summary>Column <paramref name="i"/> as an integer (0 for NULL).</summary>
    public long Int64(int i) => raw.sqlite3_column_int64(_statement, i);

    /// <summary>Column <paramref name="i"/>'s bytes: UTF-8 for text (empty for NULL).</summary>
    public ReadOnlySpan<byte> Bytes(int i) => raw.sqlite3_column_blob(_statement, i);

    /// <summary>Column <paramref name="i"/> as a string (empty for NULL).</summary>
    public string String(int i) => Encoding.UTF8.GetString(raw.sqlite3_column_blob(_statement, i));

    /// <summary>Finalizes the statement.</summary>
    public void Dispose() => _statement.Dispose();

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }
}
