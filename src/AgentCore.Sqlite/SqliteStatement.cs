using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace AgentCore;

/// <summary>
/// A write statement prepared once on the writer connection and run straight through SQLitePCL, its parameters bound by
/// position: the store's hot writes (a message's fields, a part's row, appended text) skip Microsoft.Data.Sqlite's
/// per-execution work (parameter lookup by name, a data reader per statement).
/// </summary>
/// <remarks>
/// Runs on the connection it was prepared on: a write inside the write transaction begun there, a read (such as
/// <c>PRAGMA data_version</c>) in or out of one. An
/// error throws the <see cref="SqliteException"/> Microsoft.Data.Sqlite would (so the busy retry applies); the
/// statement is reset after every run, and finalized with the connection's other reused statements.
/// </remarks>
internal sealed class SqliteStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    private SqliteStatement(sqlite3 db, sqlite3_stmt statement)
    {
        _db = db;
        _statement = statement;
    }

    /// <summary>Prepares <paramref name="sql"/> (one statement, parameters <c>?1</c>, <c>?2</c>, …) on <paramref name="connection"/>.</summary>
    public static SqliteStatement Prepare(SqliteConnection connection, string sql)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        int rc = raw.sqlite3_prepare_v3(db, sql, raw.SQLITE_PREPARE_PERSISTENT, out var statement);
        if (rc != raw.SQLITE_OK || statement is null)
        {
            statement?.Dispose();
            SqliteException.ThrowExceptionForRC(rc, db);
            throw new InvalidOperationException("The SQL holds no statement.");
        }

        return new SqliteStatement(db, statement);
    }

    /// <summary>Binds parameter <paramref name="index"/> (from 1) to <paramref name="value"/> (NULL for null).</summary>
    public SqliteStatement Bind(int index, string? value) =>
        Check(value is null ? raw.sqlite3_bind_null(_statement, index) : raw.sqlite3_bind_text(_statement, index, value));

    /// <summary>Binds parameter <paramref name="index"/> (from 1) to <paramref name="value"/>.</summary>
    public SqliteStatement Bind(int index, long value) => Check(raw.sqlite3_bind_int64(_statement, index, value));

    /// <summary>Binds parameter <paramref name="index"/> (from 1) to <paramref name="value"/> (NULL for null).</summary>
    public SqliteStatement Bind(int index, long? value) =>
        Check(value is { } v ? raw.sqlite3_bind_int64(_statement, index, v) : raw.sqlite3_bind_null(_statement, index));

    /// <summary>Binds parameter <paramref name="index"/> (from 1) to the bytes <paramref name="value"/> (NULL for null).</summary>
    public SqliteStatement Bind(int index, byte[]? value) =>
        Check(value is null ? raw.sqlite3_bind_null(_statement, index) : raw.sqlite3_bind_blob(_statement, index, value));

    /// <summary>Runs the statement to its end and resets it.</summary>
    /// <returns>The number of rows the statement itself inserted, updated or deleted.</returns>
    public int Execute()
    {
        try
        {
            int rc;
            while ((rc = raw.sqlite3_step(_statement)) == raw.SQLITE_ROW)
            {
            }

            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }

            return raw.sqlite3_changes(_db);
        }
        finally
        {
            raw.sqlite3_reset(_statement);
            raw.sqlite3_clear_bindings(_statement);
        }
    }

    /// <summary>
    /// Runs the statement — a query of one integer, or a write with <c>RETURNING</c> of one (its changes are made by the
    /// first step) — and resets it.
    /// </summary>
    /// <returns>The first column of the first row (0 when there is no row).</returns>
    /// <exception cref="SqliteException">The statement failed, in its step or (a write with <c>RETURNING</c> stepped once)
    /// in its reset.</exception>
    public long QueryInt64()
    {
        long value = 0;
        int rc;
        try
        {
            rc = raw.sqlite3_step(_statement);
            if (rc == raw.SQLITE_ROW)
            {
                value = raw.sqlite3_column_int64(_statement, 0);
            }
            else if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }
        }
        catch
        {
            raw.sqlite3_reset(_statement);
            raw.sqlite3_clear_bindings(_statement);
            throw;
        }

        // A statement stepped only to its first row finishes its work in the reset, which can fail: its code counts.
        rc = raw.sqlite3_reset(_statement);
        raw.sqlite3_clear_bindings(_statement);
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }

        return value;
    }

    /// <summary>Finalizes the statement.</summary>
    public void Dispose() => _statement.Dispose();

    private SqliteStatement Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }

        return this;
    }
}
