using System.Globalization;
using System.Text;
using Npgsql;

namespace AgentCore;

/// <summary>
/// Full-text search in PostgreSQL: a <c>tsvector</c> column on <c>agentcore_parts</c> with a GIN index, filled by triggers
/// for the text and tool-output parts of completed messages (so every write path — saves, streamed appends, deletes, forks,
/// imports, purges — keeps it in step in the same transaction), and the query that reads it.
/// </summary>
/// <remarks>
/// The text is parsed with the <c>simple</c> configuration (lower-cased, no stemming, no stop words) after ASCII
/// punctuation is turned into spaces, so its words are the runs of letters and digits every AgentCore store searches
/// (PostgreSQL's parser would otherwise keep <c>file.txt</c> or <c>build-42</c> as words of their own).
/// </remarks>
internal static class PostgreSqlSearch
{
    /// <summary>Schema 4: the column, the functions and triggers that fill it, the parts already stored, the GIN index.</summary>
    public const string Migration = """
        ALTER TABLE agentcore_parts ADD COLUMN search tsvector; -- NULL for parts not searched and parts of open messages

        -- The words of a part: a text part's text, a tool part's output. PostgreSQL text cannot hold NUL: a NUL byte of a
        -- text is read as a space, and an output holding an escaped NUL is not searched.
        CREATE FUNCTION agentcore_part_search(part_type text, part_data text, part_text bytea) RETURNS tsvector
        LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
        DECLARE
            body text;
            at integer;
        BEGIN
            IF part_type = 'text' AND part_text IS NOT NULL THEN
                at := position('\x00'::bytea IN part_text);
                WHILE at > 0 LOOP
                    part_text := set_byte(part_text, at - 1, 32);
                    at := position('\x00'::bytea IN part_text);
                END LOOP;
                body := convert_from(part_text, 'UTF8');
            ELSIF part_type = 'tool' AND strpos(part_data, E'\\u0000') = 0 THEN
                body := part_data::json ->> 'output';
            END IF;
            RETURN to_tsvector('simple'::regconfig, regexp_replace(coalesce(body, ''), '[[:punct:]]+', ' ', 'g'));
        END
        $$;

        -- A part is searched once its message is completed: text streaming into a reply is not parsed on every append.
        CREATE FUNCTION agentcore_parts_search() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.type IN ('text', 'tool') AND EXISTS (
                SELECT 1 FROM agentcore_messages m
                WHERE m.session_id = NEW.session_id AND m.id = NEW.message_id AND m.completed_at IS NOT NULL) THEN
                NEW.search := agentcore_part_search(NEW.type, NEW.data, NEW.text);
            ELSE
                NEW.search := NULL;
            END IF;
            RETURN NEW;
        END
        $$;
        CREATE TRIGGER agentcore_parts_search BEFORE INSERT OR UPDATE ON agentcore_parts
            FOR EACH ROW EXECUTE FUNCTION agentcore_parts_search();

        -- A message completed (or reopened): its parts' search column is computed again by the trigger above.
        CREATE FUNCTION agentcore_messages_search() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE agentcore_parts SET search = NULL
            WHERE session_id = NEW.session_id AND message_id = NEW.id AND type IN ('text', 'tool');
            RETURN NULL;
        END
        $$;
        CREATE TRIGGER agentcore_messages_search_insert AFTER INSERT ON agentcore_messages
            FOR EACH ROW WHEN (NEW.completed_at IS NOT NULL) EXECUTE FUNCTION agentcore_messages_search();
        CREATE TRIGGER agentcore_messages_search_completed AFTER UPDATE OF completed_at ON agentcore_messages
            FOR EACH ROW WHEN ((OLD.completed_at IS NULL) <> (NEW.completed_at IS NULL)) EXECUTE FUNCTION agentcore_messages_search();

        UPDATE agentcore_parts SET search = NULL WHERE type IN ('text', 'tool');
        CREATE INDEX agentcore_parts_search ON agentcore_parts USING gin (search);
        """;

    /// <summary>The <c>tsquery</c> text of <paramref name="query"/>: every term as a prefix (<c>term:*</c>), all required.</summary>
    public static string TsQuery(SessionSearchQuery query) =>
        string.Join(" & ", query.Terms.Select(static t => "'" + t.Replace("'", "''", StringComparison.Ordinal) + "':*"));

    /// <summary>
    /// The search command. Rows: session id, message id, part id, part type, the text (UTF-8) of a text part, the JSON of
    /// a tool part, the message's role, creation time and extra ticks, the score.
    /// </summary>
    /// <remarks>
    /// The inner query reads the GIN index, ranks the matches (<c>ts_rank</c>) after the filters — the session exists, the
    /// message is in its conversation (not after <c>revertedAfter</c>), the metadata pairs — and keeps the best
    /// <c>$2</c>; only those rows' text is read. A session's JSON is parsed only when it holds a revert point. Ids are
    /// compared in the collation of each column's index.
    /// </remarks>
    public static NpgsqlCommand Command(SessionSearchQuery query)
    {
        var command = new NpgsqlCommand();
        command.Parameters.AddWithValue(TsQuery(query));
        command.Parameters.AddWithValue(query.Limit);
        var metadata = new StringBuilder();
        int index = 0;
        foreach (var (key, value) in query.Metadata.OrderBy(static p => p.Key, StringComparer.Ordinal))
        {
            int k = command.Parameters.Count + 1;
            metadata.Append(CultureInfo.InvariantCulture, $"""

                      AND EXISTS (SELECT 1 FROM agentcore_session_metadata m{index}
                                  WHERE m{index}.session_id = (p.session_id COLLATE "default") AND m{index}.key = ${k} AND m{index}.value = ${k + 1})
                """);
            command.Parameters.AddWithValue(key);
            command.Parameters.AddWithValue(value);
            index++;
        }

        command.CommandText = $"""
            SELECT h.session_id, h.message_id, h.id, p.type,
                   p.text, p.data,
                   m.role, m.created_at, m.created_at_extra_ticks, h.score
            FROM (
                SELECT p.session_id, p.message_id, p.id, ts_rank(p.search, q.query)::float8 AS score
                FROM (SELECT to_tsquery('simple'::regconfig, $1) AS query) q
                JOIN agentcore_parts p ON p.search @@ q.query
                JOIN agentcore_sessions s ON s.id = (p.session_id COLLATE "default")
                WHERE (strpos(s.data, '"revertedAfter"') = 0 OR p.message_id <= (s.data::json ->> 'revertedAfter') COLLATE "C"){metadata}
                ORDER BY score DESC, p.message_id DESC, p.session_id DESC, p.id DESC
                LIMIT $2
            ) h
            JOIN agentcore_parts p ON p.session_id = h.session_id AND p.message_id = h.message_id AND p.id = h.id
            JOIN agentcore_messages m ON m.session_id = h.session_id AND m.id = h.message_id
            ORDER BY h.score DESC, h.message_id DESC, h.session_id DESC, h.id DESC
            """;
        return command;
    }
}
