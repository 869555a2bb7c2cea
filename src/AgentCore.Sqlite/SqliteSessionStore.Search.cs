using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>Full-text search from the FTS5 index (<see cref="SqliteSearch"/>).</summary>
public sealed partial class SqliteSessionStore
{
    /// <inheritdoc />
    /// <remarks>
    /// Reads the FTS5 index (schema 4), which triggers keep in step with every write in the same transaction: a committed
    /// write is found (or no longer found) by the next search. Hits are ranked by BM25. Text streaming into a reply is
    /// indexed when the reply completes.
    /// </remarks>
    public async ValueTask<IReadOnlyList<SessionSearchHit>> SearchAsync(SessionSearchQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var (sql, parameters) = SqliteSearch.Sql(query);
        return await RunAsync(async (connection, ct) =>
        {
            var hits = new List<SessionSearchHit>(query.Limit);
            using var command = Command(connection, sql, parameters.Select(static p => (p.Name, (object?)p.Value)).ToArray());
            using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                if (reader.IsDBNull(4))
                {
                    continue;
                }

                hits.Add(new SessionSearchHit
                {
                    SessionId = reader.GetString(0),
                    MessageId = reader.GetString(1),
                    PartId = reader.GetString(2),
                    Source = reader.GetString(3) == "tool" ? SessionSearchSource.ToolOutput : SessionSearchSource.Text,
                    Snippet = query.Snippet(reader.GetString(4)),
                    Role = new ChatRole(reader.GetString(5)),
                    CreatedAt = new DateTimeOffset(reader.GetInt64(6), TimeSpan.Zero),
                    Score = reader.GetDouble(7),
                });
            }

            return (IReadOnlyList<SessionSearchHit>)hits;
        }, cancellationToken).ConfigureAwait(false);
    }
}
