using Microsoft.Data.Sqlite;

namespace AgentCore;

/// <summary>Opening connections to an AgentCore SQLite database, and its schema migrations.</summary>
internal static class SqliteDatabase
{
    /// <summary>
    /// The schema, one script per version: script <c>i</c> takes the database from version <c>i</c> to <c>i + 1</c>.
    /// Never edit a released script; add the next one.
    /// </summary>
    public static readonly string[] Migrations =
    [
        // 1: sessions, messages and parts.
        """
        CREATE TABLE sessions (
            id                 TEXT    NOT NULL PRIMARY KEY,
            parent_id          TEXT,
            created_at         INTEGER NOT NULL, -- UTC ticks (100 ns since 0001-01-01)
            updated_at         INTEGER NOT NULL,
            input_tokens       INTEGER NOT NULL,
            output_tokens      INTEGER NOT NULL,
            reasoning_tokens   INTEGER NOT NULL,
            cache_read_tokens  INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL,
            cost               TEXT    NOT NULL, -- decimal USD, invariant culture
            data               TEXT    NOT NULL  -- the session as JSON: what reads return
        );
        CREATE INDEX sessions_newest_first ON sessions (created_at DESC, id DESC);
        CREATE INDEX sessions_by_parent ON sessions (parent_id) WHERE parent_id IS NOT NULL;

        CREATE TABLE messages (
            session_id TEXT NOT NULL,
            id         TEXT NOT NULL,
            data       TEXT NOT NULL, -- the message's own fields as JSON, without parts
            PRIMARY KEY (session_id, id)
        ) WITHOUT ROWID;

        CREATE TABLE parts (
            session_id TEXT    NOT NULL,
            message_id TEXT    NOT NULL,
            id         TEXT    NOT NULL,
            position   INTEGER NOT NULL,
            data       TEXT    NOT NULL, -- the part as JSON, without the text of text and reasoning parts
            text       BLOB,             -- that text, UTF-8, appended to while it streams
            PRIMARY KEY (session_id, message_id, id)
        );
        CREATE INDEX parts_in_order ON parts (session_id, message_id, position);
        """,

        // 2: a message's own fields as columns, so loading a session parses no JSON for them; a part's type as a column,
        // and text and reasoning parts (an id and their text) without JSON. The schema 1 tables are renamed; the store
        // copies their rows (SqliteSessionStore.CopySchema1MessagesAsync) and drops them in the same transaction.
        """
        DROP INDEX parts_in_order;
        ALTER TABLE messages RENAME TO messages_v1;
        ALTER TABLE parts RENAME TO parts_v1;

        CREATE TABLE messages (
            session_id         TEXT    NOT NULL,
            id                 TEXT    NOT NULL,
            role               TEXT    NOT NULL, -- user, assistant, system, tool
            created_at         INTEGER NOT NULL, -- UTC ticks (100 ns since 0001-01-01)
            completed_at       INTEGER,          -- UTC ticks; NULL while the message is being written
            provider_id        TEXT,
            model_id           TEXT,
            input_tokens       INTEGER NOT NULL,
            output_tokens      INTEGER NOT NULL,
            reasoning_tokens   INTEGER NOT NULL,
            cache_read_tokens  INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL,
            cost               TEXT    NOT NULL, -- decimal USD, invariant culture
            is_summary         INTEGER NOT NULL, -- 0 or 1
            summarized_through TEXT,
            finish_reason      TEXT,
            error              TEXT,             -- the MessageError as JSON; NULL when the message has none
            PRIMARY KEY (session_id, id)
        ) WITHOUT ROWID;

        CREATE TABLE parts (
            session_id TEXT    NOT NULL,
            message_id TEXT    NOT NULL,
            id         TEXT    NOT NULL,
            position   INTEGER NOT NULL,
            type       TEXT    NOT NULL, -- the part's type discriminator: text, reasoning, file, tool, step-start, step-finish
            data       TEXT,             -- the part as JSON; NULL for text and reasoning parts
            text       BLOB,             -- the text of text and reasoning parts, UTF-8, appended to while it streams
            PRIMARY KEY (session_id, message_id, id)
        );
        CREATE INDEX parts_in_order ON parts (session_id, message_id, position, id);
        """,

        // 3: filtered listings (SqliteSessionStore.ListSessionsAsync(SessionQuery)). A session's metadata as rows, with the
        // session's creation time, so "owner = alice" reads one index range already in listing order and stops after a
        // page; the parent and update time indexed. The store fills session_metadata from the sessions' JSON
        // (SqliteSessionStore.CopyMetadataAsync) in the same transaction.
        """
        CREATE TABLE session_metadata (
            session_id TEXT    NOT NULL,
            key        TEXT    NOT NULL,
            value      TEXT    NOT NULL,
            created_at INTEGER NOT NULL, -- the session's creation time (UTC ticks), as in sessions
            PRIMARY KEY (session_id, key)
        ) WITHOUT ROWID;
        CREATE INDEX session_metadata_lookup ON session_metadata (key, value, created_at DESC, session_id DESC);

        DROP INDEX sessions_by_parent;
        CREATE INDEX sessions_by_parent ON sessions (parent_id, created_at DESC, id DESC) WHERE parent_id IS NOT NULL;
        CREATE INDEX sessions_by_update ON sessions (updated_at);
        """,

        // 4: full-text search (SqliteSessionStore.SearchAsync): an FTS5 index of text parts and tool outputs, kept by triggers.
        SqliteSearch.Migration,
    ];

    private static int s_initialized;

    /// <summary>The connection string of the database file at <paramref name="path"/>.</summary>
    public static string ConnectionString(string path) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Cache = SqliteCacheMode.Private,
        Pooling = true,
        // Microsoft.Data.Sqlite's own busy retry (blocking, in whole seconds): one second per attempt; the store's
        // retry loop waits asynchronously between attempts until its BusyTimeout.
        DefaultTimeout = 1,
    }.ToString();

    /// <summary>Opens a connection with AgentCore's per-connection settings.</summary>
    public static async Task<SqliteConnection> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        EnsureInitialized();
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var command = connection.CreateCommand();
            // busy_timeout: SQLite itself waits up to a second for another writer before reporting SQLITE_BUSY (the store
            // then retries until its BusyTimeout); synchronous=NORMAL is safe in WAL mode and much faster than FULL.
            command.CommandText = "PRAGMA busy_timeout = 1000; PRAGMA synchronous = NORMAL;";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The error to throw in place of <paramref name="exception"/> when it means the database file itself is unusable —
    /// not a database, corrupt, cannot be opened, read-only, or on a full disk — naming the file and the way out; null
    /// for other errors (which are rethrown as they are).
    /// </summary>
    public static AgentCoreException? Unusable(SqliteException exception, string path)
    {
        string? problem = (exception.SqliteErrorCode & 0xFF) switch
        {
            26 => "is not an SQLite database (SQLITE_NOTADB)",
            11 => "is corrupt (SQLITE_CORRUPT)",
            14 => "cannot be opened (SQLITE_CANTOPEN): check that its folder exists and may be written",
            8 => "may not be written (SQLITE_READONLY): the file or its folder is read-only",
            13 => "cannot grow: the disk is full (SQLITE_FULL); nothing committed before was changed",
            10 => "could not be read or written (SQLITE_IOERR)",
            _ => null,
        };
        if (problem is null)
        {
            return null;
        }

        string wayOut = (exception.SqliteErrorCode & 0xFF) is 26 or 11
            ? " Move the file aside (with its -wal and -shm files) and restore a backup, or point UseSqlite at another path; AgentCore creates a new database where none exists."
            : " Fix the disk or permissions, or point UseSqlite at another path.";
        return new AgentCoreException($"The SQLite database '{path}' {problem}.{wayOut}", exception);
    }

    /// <summary>Whether <paramref name="exception"/> means another connection holds a lock (<c>SQLITE_BUSY</c> or <c>SQLITE_LOCKED</c>).</summary>
    public static bool IsBusy(SqliteException exception) => exception.SqliteErrorCode is 5 or 6;

    private static void EnsureInitialized()
    {
        if (Interlocked.Exchange(ref s_initialized, 1) == 0)
        {
            SQLitePCL.Batteries_V2.Init();
        }
    }
}
