namespace AgentCore;

/// <summary>
/// The tables and indexes of schema versions 1 to 3, which both SQL stores create alike, written once and spelled in each
/// store's <see cref="SqlDialect"/>, and the messages stamp table of PostgreSQL's version 5. Each store's database class adds what is its own (PostgreSQL's usage history table,
/// how each renames the schema 1 tables) and the later versions.
/// </summary>
/// <remarks>
/// <para>Linked source (<c>src/Shared/Sql</c>), compiled into each SQL store package as an internal type.</para>
/// <para>A released version is never edited: a schema change is a new version in each store's migrations.</para>
/// </remarks>
internal static class StoreSchema
{
    /// <summary>Version 1: sessions, messages and parts (the message and the part as JSON).</summary>
    /// <param name="sql">The store's dialect.</param>
    /// <returns>The script.</returns>
    public static string Version1(SqlDialect sql) => $"""
        CREATE TABLE {sql.Prefix}sessions (
            id                 {sql.Text} NOT NULL PRIMARY KEY,
            parent_id          {sql.Text},
            created_at         {sql.Time} NOT NULL,
            updated_at         {sql.Time} NOT NULL,
            {Usage(sql)},
            data               {sql.Text} NOT NULL -- the session as JSON (exact to the tick): what reads return
        );
        CREATE INDEX {sql.Prefix}sessions_newest_first ON {sql.Prefix}sessions (created_at DESC, id DESC);
        CREATE INDEX {sql.Prefix}sessions_by_parent ON {sql.Prefix}sessions (parent_id) WHERE parent_id IS NOT NULL;

        CREATE TABLE {sql.Prefix}messages (
            session_id {sql.Text} NOT NULL,
            id         {sql.Text} NOT NULL,
            data       {sql.Text} NOT NULL, -- the message's own fields as JSON, without parts
            PRIMARY KEY (session_id, id)
        ){sql.KeyedTable};

        CREATE TABLE {sql.Prefix}parts (
            session_id {sql.Text} NOT NULL,
            message_id {sql.Text} NOT NULL,
            id         {sql.Text} NOT NULL,
            position   {sql.Position} NOT NULL,
            data       {sql.Text} NOT NULL, -- the part as JSON, without the text of text and reasoning parts
            text       {sql.Bytes},         -- that text, UTF-8, appended to while it streams
            PRIMARY KEY (session_id, message_id, id)
        );
        CREATE INDEX {sql.Prefix}parts_in_order ON {sql.Prefix}parts (session_id, message_id, position);

        """;

    /// <summary>
    /// Version 2, once the store has renamed the schema 1 tables <c>messages</c> and <c>parts</c> (and their indexes)
    /// aside: a message's own fields as columns, so loading a session parses no JSON for them; a part's type as a column,
    /// and text and reasoning parts (an id and their text) without JSON. Ids compare byte by byte, the order a load merges
    /// messages and parts in. The store then copies the renamed tables' rows and drops them, in the same transaction.
    /// </summary>
    /// <param name="sql">The store's dialect.</param>
    /// <returns>The script.</returns>
    public static string Version2(SqlDialect sql) => $"""
        CREATE TABLE {sql.Prefix}messages (
            session_id         {sql.OrdinalText} NOT NULL,
            id                 {sql.OrdinalText} NOT NULL,
            role               {sql.Text} NOT NULL, -- user, assistant, system, tool
            created_at         {sql.Time} NOT NULL,
            {sql.ExtraTicksOf("created_at", "NOT NULL")}
            completed_at       {sql.Time},          -- NULL while the message is being written
            {sql.ExtraTicksOf("completed_at", "")}
            provider_id        {sql.Text},
            model_id           {sql.Text},
            {Usage(sql)},
            is_summary         {sql.Boolean} NOT NULL,
            summarized_through {sql.Text},
            finish_reason      {sql.Text},
            error              {sql.Text},          -- the MessageError as JSON; NULL when the message has none
            PRIMARY KEY (session_id, id)
        ){sql.KeyedTable};

        CREATE TABLE {sql.Prefix}parts (
            session_id {sql.OrdinalText} NOT NULL,
            message_id {sql.OrdinalText} NOT NULL,
            id         {sql.OrdinalText} NOT NULL,
            position   {sql.Position} NOT NULL,
            type       {sql.Text} NOT NULL, -- the part's type discriminator: text, reasoning, file, tool, step-start, step-finish
            data       {sql.Text},          -- the part as JSON; NULL for text and reasoning parts
            text       {sql.Bytes},         -- the text of text and reasoning parts, UTF-8, appended to while it streams
            PRIMARY KEY (session_id, message_id, id)
        );
        CREATE INDEX {sql.Prefix}parts_in_order ON {sql.Prefix}parts (session_id, message_id, position, id);

        """;

    /// <summary>
    /// Version 3: filtered listings (<c>ListSessionsAsync(SessionQuery)</c>). A session's metadata as rows, with the
    /// session's creation time, so "owner = alice" reads one index range already in listing order and stops after a page;
    /// the parent and update time indexed. <c>session_id</c> has the type of <c>sessions.id</c>, so both list in the same
    /// order. The store then fills the metadata table from the sessions' JSON, in the same transaction.
    /// </summary>
    /// <param name="sql">The store's dialect.</param>
    /// <returns>The script.</returns>
    public static string Version3(SqlDialect sql) => $"""
        CREATE TABLE {sql.Prefix}session_metadata (
            session_id {sql.Text} NOT NULL,
            key        {sql.OrdinalText} NOT NULL,
            value      {sql.OrdinalText} NOT NULL,
            created_at {sql.Time} NOT NULL, -- the session's creation time, as in sessions
            PRIMARY KEY (session_id, key)
        ){sql.KeyedTable};
        CREATE INDEX {sql.Prefix}session_metadata_lookup ON {sql.Prefix}session_metadata (key, value, created_at DESC, session_id DESC);

        DROP INDEX {sql.Prefix}sessions_by_parent;
        CREATE INDEX {sql.Prefix}sessions_by_parent ON {sql.Prefix}sessions (parent_id, created_at DESC, id DESC) WHERE parent_id IS NOT NULL;
        CREATE INDEX {sql.Prefix}sessions_by_update ON {sql.Prefix}sessions (updated_at);

        """;

    /// <summary>
    /// Version 5 in PostgreSQL: the stamp of each session's messages (<c>ISessionStore.GetMessagesStampAsync</c>), a row a
    /// session whose messages were ever written. The store sets a new, never repeated value in the same transaction as
    /// every write or delete of the session's messages or parts, so reading the stamp is one primary-key lookup.
    /// </summary>
    /// <param name="sql">The store's dialect.</param>
    /// <returns>The script.</returns>
    public static string Version5(SqlDialect sql) => $"""
        CREATE TABLE {sql.Prefix}message_stamps (
            session_id {sql.Text} NOT NULL PRIMARY KEY,
            stamp      {sql.Count} NOT NULL -- changes with every write of the session's messages; compared for equality only
        ){sql.KeyedTable};

        """;

    /// <summary>The columns of a session's totals and a message's usage: tokens of each kind, and the cost.</summary>
    /// <param name="sql">The store's dialect.</param>
    /// <returns>The column definitions, separated by commas.</returns>
    private static string Usage(SqlDialect sql) => $"""
        input_tokens       {sql.Count} NOT NULL,
        output_tokens      {sql.Count} NOT NULL,
        reasoning_tokens   {sql.Count} NOT NULL,
        cache_read_tokens  {sql.Count} NOT NULL,
        cache_write_tokens {sql.Count} NOT NULL,
        cost               {sql.Money} NOT NULL
        """;
}
