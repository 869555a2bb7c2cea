using System.Globalization;
using System.Text;

namespace AgentCore;

/// <summary>
/// Full-text search in SQLite: an FTS5 index of the text and tool-output parts of completed messages, kept in step with
/// the <c>parts</c> and <c>messages</c> tables by triggers (so every write path — saves, streamed appends, deletes, forks,
/// imports, purges — updates it in the same transaction), and the query that reads it.
/// </summary>
internal static class SqliteSearch
{
    // What a part contributes to the index: a text part's text, a tool part's output (NULL for other parts).
    private const string Body = "CASE {0}.type WHEN 'text' THEN CAST({0}.text AS TEXT) WHEN 'tool' THEN json_extract({0}.data, '$.output') END";

    // Whether the part's message is completed: only completed messages are indexed, so text streaming into a reply is
    // not re-indexed on every append; the reply is indexed once, when it completes.
    private const string Completed = "EXISTS (SELECT 1 FROM messages m WHERE m.session_id = {0}.session_id AND m.id = {0}.message_id AND m.completed_at IS NOT NULL)";

    // Both are formatted more than once (the migration, every search statement): parsed once.
    private static readonly CompositeFormat BodyFormat = CompositeFormat.Parse(Body);

    private static readonly CompositeFormat CompletedFormat = CompositeFormat.Parse(Completed);

    /// <summary>
    /// Schema 4: the index (<c>parts_search</c>, contentless: it holds the words, not a second copy of the text; rowid =
    /// the part's rowid), its triggers, and the index of the parts already stored.
    /// </summary>
    public static readonly string Migration = string.Format(CultureInfo.InvariantCulture, """
        CREATE VIRTUAL TABLE parts_search USING fts5(body, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0');

        CREATE TRIGGER parts_search_insert AFTER INSERT ON parts
        WHEN new.type IN ('text', 'tool') AND {1}
        BEGIN
            INSERT INTO parts_search (rowid, body) VALUES (new.rowid, {0});
        END;

        CREATE TRIGGER parts_search_update AFTER UPDATE OF type, data, text ON parts
        WHEN (old.type IN ('text', 'tool') OR new.type IN ('text', 'tool')) AND {1}
        BEGIN
            DELETE FROM parts_search WHERE rowid = old.rowid;
            INSERT INTO parts_search (rowid, body) SELECT new.rowid, {0} WHERE new.type IN ('text', 'tool');
        END;

        CREATE TRIGGER parts_search_delete AFTER DELETE ON parts
        WHEN old.type IN ('text', 'tool')
        BEGIN
            DELETE FROM parts_search WHERE rowid = old.rowid;
        END;

        CREATE TRIGGER messages_search_completed AFTER UPDATE OF completed_at ON messages
        WHEN old.completed_at IS NULL AND new.completed_at IS NOT NULL
        BEGIN
            INSERT INTO parts_search (rowid, body)
            SELECT p.rowid, {2} FROM parts p WHERE p.session_id = new.session_id AND p.message_id = new.id AND p.type IN ('text', 'tool');
        END;

        CREATE TRIGGER messages_search_reopened AFTER UPDATE OF completed_at ON messages
        WHEN old.completed_at IS NOT NULL AND new.completed_at IS NULL
        BEGIN
            DELETE FROM parts_search WHERE rowid IN
                (SELECT p.rowid FROM parts p WHERE p.session_id = new.session_id AND p.message_id = new.id AND p.type IN ('text', 'tool'));
        END;

        CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
        WHEN new.completed_at IS NOT NULL
        BEGIN
            INSERT INTO parts_search (rowid, body)
            SELECT p.rowid, {2} FROM parts p WHERE p.session_id = new.session_id AND p.message_id = new.id AND p.type IN ('text', 'tool');
        END;

        CREATE TRIGGER messages_search_delete AFTER DELETE ON messages
        BEGIN
            DELETE FROM parts_search WHERE rowid IN
                (SELECT p.rowid FROM parts p WHERE p.session_id = old.session_id AND p.message_id = old.id AND p.type IN ('text', 'tool'));
        END;

        INSERT INTO parts_search (rowid, body)
        SELECT p.rowid, {2} FROM parts p JOIN messages m ON m.session_id = p.session_id AND m.id = p.message_id
        WHERE m.completed_at IS NOT NULL AND p.type IN ('text', 'tool');
        """,
        string.Format(CultureInfo.InvariantCulture, BodyFormat, "new"),
        string.Format(CultureInfo.InvariantCulture, CompletedFormat, "new"),
        string.Format(CultureInfo.InvariantCulture, BodyFormat, "p"));

    /// <summary>The FTS5 query of <paramref name="query"/>: every term as a quoted prefix (<c>"term"*</c>), all required.</summary>
    public static string MatchExpression(SessionSearchQuery query) =>
        string.Join(' ', query.Terms.Select(static t => "\"" + t.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"*"));

    /// <summary>
    /// The search statement and its parameters (<c>$match</c>, <c>$limit</c>, the metadata pairs). Rows: session id,
    /// message id, part id, part type, the searched text, the message's role and creation time (ticks), the score.
    /// </summary>
    /// <remarks>
    /// The inner query ranks the index's matches (BM25, negated so higher is better) after the filters — the session exists,
    /// the message is in its conversation (not after <c>revertedAfter</c>), the metadata pairs — and keeps the best
    /// <c>$limit</c>; only those rows' text is read. A session's JSON is parsed only when it holds a revert point.
    /// </remarks>
    public static (string Sql, (string Name, object Value)[] Parameters) Sql(SessionSearchQuery query)
    {
        var parameters = new List<(string, object)> { ("$match", MatchExpression(query)), ("$limit", query.Limit) };
        var metadata = new StringBuilder();
        int index = 0;
        foreach (var (key, value) in query.Metadata.OrderBy(static p => p.Key, StringComparer.Ordinal))
        {
            string k = "$k" + index.ToString(CultureInfo.InvariantCulture), v = "$v" + index.ToString(CultureInfo.InvariantCulture);
            metadata.Append(CultureInfo.InvariantCulture,
                $" AND EXISTS (SELECT 1 FROM session_metadata m{index} WHERE m{index}.session_id = p.session_id AND m{index}.key = {k} AND m{index}.value = {v})");
            parameters.Add((k, key));
            parameters.Add((v, value));
            index++;
        }

        string sql = $"""
            SELECT h.session_id, h.message_id, h.id, p.type, {string.Format(CultureInfo.InvariantCulture, BodyFormat, "p")}, m.role, m.created_at, h.score
            FROM (
                SELECT parts_search.rowid AS part, -bm25(parts_search) AS score, p.session_id, p.message_id, p.id
                FROM parts_search
                JOIN parts p ON p.rowid = parts_search.rowid
                JOIN sessions s ON s.id = p.session_id
                WHERE parts_search MATCH $match
                  AND (instr(s.data, '"revertedAfter"') = 0 OR p.message_id <= json_extract(s.data, '$.revertedAfter')){metadata}
                ORDER BY score DESC, p.message_id DESC, p.session_id DESC, p.id DESC
                LIMIT $limit
            ) h
            JOIN parts p ON p.rowid = h.part
            JOIN messages m ON m.session_id = h.session_id AND m.id = h.message_id
            ORDER BY h.score DESC, h.message_id DESC, h.session_id DESC, h.id DESC
            """;
        return (sql, parameters.ToArray());
    }
}
