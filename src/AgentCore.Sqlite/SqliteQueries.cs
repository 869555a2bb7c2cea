using System.Globalization;

namespace AgentCore;

/// <summary>The SQL of a filtered session listing (<see cref="SqliteSessionStore.ListSessionsAsync(SessionQuery, CancellationToken)"/>).</summary>
internal static class SqliteQueries
{
    /// <summary>
    /// The statement listing <paramref name="query"/>'s sessions as rows of (data, id, created_at) in listing order (see
    /// <see cref="SessionListSql"/>), and its parameters. The caller binds <c>$limit</c> and, when
    /// <paramref name="afterKey"/>, <c>$afterTicks</c> and <c>$afterId</c>: the rows then start after that (creation time,
    /// id).
    /// </summary>
    public static (string Sql, (string Name, object? Value)[] Parameters) ListSql(SessionQuery query, bool afterKey)
    {
        var parameters = new Parameters(afterKey);
        string sql = SessionListSql.Of(query, SqlDialect.Sqlite, parameters);
        return (sql, parameters.Values.ToArray());
    }

    /// <summary>Named parameters; times as UTC ticks, the columns' unit.</summary>
    private sealed class Parameters(bool afterKey) : SessionListParameters
    {
        public List<(string Name, object? Value)> Values { get; } = [];

        public override (string Key, string Value) Metadata(int index, string key, string value)
        {
            string number = index.ToString(CultureInfo.InvariantCulture);
            return (Add("$k" + number, key), Add("$v" + number, value));
        }

        public override string Parent(string parentId) => Add("$parent", parentId);

        public override string UpdatedAfter(DateTimeOffset bound) => "> " + Add("$updatedAfter", bound.UtcTicks);

        public override string UpdatedBefore(DateTimeOffset bound) => "< " + Add("$updatedBefore", bound.UtcTicks);

        public override string? Cursor() => afterKey ? "($afterTicks, $afterId)" : null;

        public override string Limit() => "$limit";

        private string Add(string name, object value)
        {
            Values.Add((name, value));
            return name;
        }
    }
}
