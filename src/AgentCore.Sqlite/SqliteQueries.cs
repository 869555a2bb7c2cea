using System.Globalization;
using System.Text;

namespace AgentCore;

/// <summary>The SQL of a filtered session listing (<see cref="SqliteSessionStore.ListSessionsAsync(SessionQuery, CancellationToken)"/>).</summary>
internal static class SqliteQueries
{
    /// <summary>
    /// The statement listing <paramref name="query"/>'s sessions as rows of (data, id, created_at) in listing order, and its
    /// parameters. The caller binds <c>$limit</c> and, when <paramref name="afterKey"/>, <c>$afterTicks</c> and
    /// <c>$afterId</c>: the rows then start after that (creation time, id).
    /// </summary>
    /// <remarks>
    /// With a metadata filter, the first pair drives the read from <c>session_metadata_lookup</c> (key, value, created_at
    /// DESC, session_id DESC): one index range in listing order, so <c>LIMIT</c> ends it; other pairs are probes of the
    /// primary key. Without one, the order comes from <c>sessions_by_parent</c> or <c>sessions_newest_first</c>.
    /// </remarks>
    public static (string Sql, (string Name, object? Value)[] Parameters) ListSql(SessionQuery query, bool afterKey)
    {
        var parameters = new List<(string, object?)>();
        var where = new List<string>();
        var sql = new StringBuilder();
        string created, id;
        int index = 0;
        foreach (var (key, value) in query.Metadata.OrderBy(static p => p.Key, StringComparer.Ordinal))
        {
            string k = "$k" + index.ToString(CultureInfo.InvariantCulture), v = "$v" + index.ToString(CultureInfo.InvariantCulture);
            parameters.Add((k, key));
            parameters.Add((v, value));
            if (index == 0)
            {
                where.Add($"m.key = {k} AND m.value = {v}");
            }
            else
            {
                where.Add($"EXISTS (SELECT 1 FROM session_metadata m{index} WHERE m{index}.session_id = s.id AND m{index}.key = {k} AND m{index}.value = {v})");
            }

            index++;
        }

        if (index > 0)
        {
            sql.Append("SELECT s.data, s.id, m.created_at FROM session_metadata m JOIN sessions s ON s.id = m.session_id");
            (created, id) = ("m.created_at", "m.session_id");
        }
        else
        {
            sql.Append("SELECT s.data, s.id, s.created_at FROM sessions s");
            (created, id) = ("s.created_at", "s.id");
        }

        if (query.ParentId is not null)
        {
            where.Add("s.parent_id = $parent");
            parameters.Add(("$parent", query.ParentId));
        }

        // Exclusive bounds, in the same UTC ticks as the column.
        if (query.UpdatedAfter is { } updatedAfter)
        {
            where.Add("s.updated_at > $updatedAfter");
            parameters.Add(("$updatedAfter", updatedAfter.UtcTicks));
        }

        if (query.UpdatedBefore is { } updatedBefore)
        {
            where.Add("s.updated_at < $updatedBefore");
            parameters.Add(("$updatedBefore", updatedBefore.UtcTicks));
        }

        if (afterKey)
        {
            where.Add($"({created}, {id}) < ($afterTicks, $afterId)");
        }

        if (where.Count > 0)
        {
            sql.Append(" WHERE ").AppendJoin(" AND ", where);
        }

        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY {created} DESC, {id} DESC LIMIT $limit");
        return (sql.ToString(), parameters.ToArray());
    }
}
