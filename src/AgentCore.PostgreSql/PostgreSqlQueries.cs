using System.Globalization;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace AgentCore;

/// <summary>The SQL of a filtered session listing (<see cref="PostgreSqlSessionStore.ListSessionsAsync(SessionQuery, CancellationToken)"/>).</summary>
internal static class PostgreSqlQueries
{
    private const long TicksPerMicrosecond = 10;

    /// <summary>
    /// The command listing at most <paramref name="limit"/> of <paramref name="query"/>'s sessions as rows of (data, id,
    /// created_at) in listing order, after (creation time, id) <paramref name="after"/> when it is set.
    /// </summary>
    /// <remarks>
    /// With a metadata filter, the first pair drives the read from <c>agentcore_session_metadata_lookup</c> (key, value,
    /// created_at DESC, session_id DESC): one index range in listing order, so <c>LIMIT</c> ends it; other pairs are probes
    /// of the primary key. Without one, the order comes from the parent's or the newest-first index. The update-time
    /// bounds are widened to whole microseconds (the column's precision); the caller checks them to the tick.
    /// </remarks>
    public static NpgsqlCommand ListCommand(SessionQuery query, (DateTime CreatedAt, string Id)? after, int limit)
    {
        var command = new NpgsqlCommand();
        var where = new List<string>();
        string Parameter(object value, NpgsqlDbType? type = null)
        {
            var parameter = type is { } t ? new NpgsqlParameter { Value = value, NpgsqlDbType = t } : new NpgsqlParameter { Value = value };
            command.Parameters.Add(parameter);
            return "$" + command.Parameters.Count.ToString(CultureInfo.InvariantCulture);
        }

        var sql = new StringBuilder();
        string created, id;
        int index = 0;
        foreach (var (key, value) in query.Metadata.OrderBy(static p => p.Key, StringComparer.Ordinal))
        {
            string k = Parameter(key, NpgsqlDbType.Text), v = Parameter(value, NpgsqlDbType.Text);
            where.Add(index == 0
                ? $"m.key = {k} AND m.value = {v}"
                : $"EXISTS (SELECT 1 FROM agentcore_session_metadata m{index} WHERE m{index}.session_id = s.id AND m{index}.key = {k} AND m{index}.value = {v})");
            index++;
        }

        if (index > 0)
        {
            sql.Append("SELECT s.data, s.id, m.created_at FROM agentcore_session_metadata m JOIN agentcore_sessions s ON s.id = m.session_id");
            (created, id) = ("m.created_at", "m.session_id");
        }
        else
        {
            sql.Append("SELECT s.data, s.id, s.created_at FROM agentcore_sessions s");
            (created, id) = ("s.created_at", "s.id");
        }

        if (query.ParentId is not null)
        {
            where.Add($"s.parent_id = {Parameter(query.ParentId, NpgsqlDbType.Text)}");
        }

        // The column holds whole microseconds: a time later (earlier) than the bound is stored at or after (before) the
        // bound's microsecond, give or take the one the driver may round to.
        if (query.UpdatedAfter is { } updatedAfter)
        {
            where.Add($"s.updated_at >= {Parameter(Microsecond(updatedAfter, -1), NpgsqlDbType.TimestampTz)}");
        }

        if (query.UpdatedBefore is { } updatedBefore)
        {
            where.Add($"s.updated_at <= {Parameter(Microsecond(updatedBefore, +1), NpgsqlDbType.TimestampTz)}");
        }

        if (after is { } key2)
        {
            where.Add($"({created}, {id}) < ({Parameter(key2.CreatedAt, NpgsqlDbType.TimestampTz)}, {Parameter(key2.Id, NpgsqlDbType.Text)})");
        }

        if (where.Count > 0)
        {
            sql.Append(" WHERE ").AppendJoin(" AND ", where);
        }

        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY {created} DESC, {id} DESC LIMIT {Parameter(limit, NpgsqlDbType.Integer)}");
        command.CommandText = sql.ToString();
        return command;
    }

    /// <summary>The whole microsecond <paramref name="time"/> falls in, moved by <paramref name="microseconds"/>, within DateTime's range.</summary>
    private static DateTime Microsecond(DateTimeOffset time, int microseconds)
    {
        long ticks = time.UtcTicks;
        long moved = ticks - (ticks % TicksPerMicrosecond) + (microseconds * TicksPerMicrosecond);
        return new DateTime(Math.Clamp(moved, 0, DateTime.MaxValue.Ticks - (DateTime.MaxValue.Ticks % TicksPerMicrosecond)), DateTimeKind.Utc);
    }
}
