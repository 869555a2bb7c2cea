using System.Globalization;
using System.Text;

namespace AgentCore;

/// <summary>
/// The SQL of a filtered session listing (<c>ListSessionsAsync(SessionQuery)</c>), written once for both SQL stores: the
/// dialect names the tables (<see cref="SqlDialect.Prefix"/>) and binds the values (<see cref="SessionListParameters"/>).
/// </summary>
/// <remarks>
/// <para>Linked source (<c>src/Shared/Sql</c>), compiled into each SQL store package as an internal type.</para>
/// <para>
/// With a metadata filter, the first pair drives the read from the <c>session_metadata_lookup</c> index (key, value,
/// created_at DESC, session_id DESC): one index range in listing order, so <c>LIMIT</c> ends it; other pairs are probes of
/// the primary key. Without one, the order comes from the parent's index or the newest-first index.
/// </para>
/// </remarks>
internal static class SessionListSql
{
    /// <summary>
    /// The statement listing <paramref name="query"/>'s sessions as rows of (data, id, created_at) in listing order,
    /// binding its values through <paramref name="parameters"/> in the order they appear.
    /// </summary>
    /// <param name="query">The listing's filters.</param>
    /// <param name="sql">The store's dialect.</param>
    /// <param name="parameters">The dialect's parameters of this one statement.</param>
    /// <returns>The statement's text.</returns>
    public static string Of(SessionQuery query, SqlDialect sql, SessionListParameters parameters)
    {
        string tablePrefix = sql.Prefix;
        var where = new List<string>();
        var text = new StringBuilder();
        string created, id;
        int index = 0;
        foreach (var (key, value) in query.Metadata.OrderBy(static p => p.Key, StringComparer.Ordinal))
        {
            var (k, v) = parameters.Metadata(index, key, value);
            where.Add(index == 0
                ? $"m.key = {k} AND m.value = {v}"
                : $"EXISTS (SELECT 1 FROM {tablePrefix}session_metadata m{index} WHERE m{index}.session_id = s.id AND m{index}.key = {k} AND m{index}.value = {v})");
            index++;
        }

        if (index > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"SELECT s.data, s.id, m.created_at FROM {tablePrefix}session_metadata m JOIN {tablePrefix}sessions s ON s.id = m.session_id");
            (created, id) = ("m.created_at", "m.session_id");
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $"SELECT s.data, s.id, s.created_at FROM {tablePrefix}sessions s");
            (created, id) = ("s.created_at", "s.id");
        }

        if (query.ParentId is not null)
        {
            where.Add($"s.parent_id = {parameters.Parent(query.ParentId)}");
        }

        if (query.UpdatedAfter is { } updatedAfter)
        {
            where.Add("s.updated_at " + parameters.UpdatedAfter(updatedAfter));
        }

        if (query.UpdatedBefore is { } updatedBefore)
        {
            where.Add("s.updated_at " + parameters.UpdatedBefore(updatedBefore));
        }

        if (parameters.Cursor() is { } cursor)
        {
            where.Add($"({created}, {id}) < {cursor}");
        }

        if (where.Count > 0)
        {
            text.Append(" WHERE ").AppendJoin(" AND ", where);
        }

        text.Append(CultureInfo.InvariantCulture, $" ORDER BY {created} DESC, {id} DESC LIMIT {parameters.Limit()}");
        return text.ToString();
    }
}
