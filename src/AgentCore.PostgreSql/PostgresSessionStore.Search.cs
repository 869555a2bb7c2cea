using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>Full-text search from the <c>tsvector</c> column and its GIN index (<see cref="PostgreSqlSearch"/>).</summary>
public sealed partial class PostgresSessionStore
{
    /// <inheritdoc />
    /// <remarks>
    /// Reads the GIN index of <c>agentcore_parts.search</c> (schema 4), which triggers keep in step with every write in the
    /// same transaction: a committed write is found (or no longer found) by the next search, on every instance. Hits are
    /// ranked by <c>ts_rank</c>. Text streaming into a reply is indexed when the reply completes.
    /// </remarks>
    public async ValueTask<IReadOnlyList<SessionSearchHit>> SearchAsync(SessionSearchQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = PostgreSqlSearch.Command(query);
        command.Connection = connection;
        var hits = new List<SessionSearchHit>(query.Limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
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
                CreatedAt = new DateTimeOffset(reader.GetDateTime(6).Ticks + reader.GetInt16(7), TimeSpan.Zero),
                Score = reader.GetDouble(8),
            });
        }

        return hits;
    }
}
