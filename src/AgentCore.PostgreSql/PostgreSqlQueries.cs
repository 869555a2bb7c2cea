using System.Globalization;
using Npgsql;
using NpgsqlTypes;

namespace AgentCore;

/// <summary>The SQL of a filtered session listing (<see cref="PostgreSqlSessionStore.ListSessionsAsync(SessionQuery, CancellationToken)"/>).</summary>
internal static class PostgreSqlQueries
{
    private const long TicksPerMicrosecond = 10;

    /// <summary>
    /// The command listing at most <paramref name="limit"/> of <paramref name="query"/>'s sessions as rows of (data, id,
    /// created_at) in listing order, after (creation time, id) <paramref name="after"/> when it is set (see
    /// <see cref="SessionListSql"/>).
    /// </summary>
    /// <remarks>
    /// The update-time bounds are widened to whole microseconds (the column's precision); the caller checks them to the tick.
    /// </remarks>
    public static NpgsqlCommand ListCommand(SessionQuery query, (DateTime CreatedAt, string Id)? after, int limit)
    {
        var command = new NpgsqlCommand();
        command.CommandText = SessionListSql.Of(query, SqlDialect.PostgreSql, new Parameters(command, after, limit));
        return command;
    }

    /// <summary>The whole microsecond <paramref name="time"/> falls in, moved by <paramref name="microseconds"/>, within DateTime's range.</summary>
    private static DateTime Microsecond(DateTimeOffset time, int microseconds)
    {
        long ticks = time.UtcTicks;
        long moved = ticks - (ticks % TicksPerMicrosecond) + (microseconds * TicksPerMicrosecond);
        return new DateTime(Math.Clamp(moved, 0, DateTime.MaxValue.Ticks - (DateTime.MaxValue.Ticks % TicksPerMicrosecond)), DateTimeKind.Utc);
    }

    /// <summary>Positional parameters (<c>$1</c>, <c>$2</c>, …) of <paramref name="command"/>, typed.</summary>
    private sealed class Parameters(NpgsqlCommand command, (DateTime CreatedAt, string Id)? after, int limit) : SessionListParameters
    {
        public override (string Key, string Value) Metadata(int index, string key, string value) =>
            (Add(key, NpgsqlDbType.Text), Add(value, NpgsqlDbType.Text));

        public override string Parent(string parentId) => Add(parentId, NpgsqlDbType.Text);

        // The column holds whole microseconds: a time later (earlier) than the bound is stored at or after (before) the
        // bound's microsecond, give or take the one the driver may round to.
        public override string UpdatedAfter(DateTimeOffset bound) => ">= " + Add(Microsecond(bound, -1), NpgsqlDbType.TimestampTz);

        public override string UpdatedBefore(DateTimeOffset bound) => "<= " + Add(Microsecond(bound, +1), NpgsqlDbType.TimestampTz);

        public override string? Cursor() =>
            after is { } key ? $"({Add(key.CreatedAt, NpgsqlDbType.TimestampTz)}, {Add(key.Id, NpgsqlDbType.Text)})" : null;

        public override string Limit() => Add(limit, NpgsqlDbType.Integer);

        private string Add(object value, NpgsqlDbType type)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = type });
            return "$" + command.Parameters.Count.ToString(CultureInfo.InvariantCulture);
        }
    }
}
