using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>Full-text search from the <c>tsvector</c> column and its GIN index (<see cref="PostgreSqlSearch"/>).</summary>
public sealed partial class PostgreSqlSessionStore
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
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var command = PostgreSqlSearch.Command(query);
        await using var commandScope = command.ConfigureAwait(false);
        command.Connection = connection;
        var hits = new List<SessionSearchHit>(query.Limit);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            bool tool = reader.GetString(3) == "tool";
            string? text = tool
                ? reader.IsDBNull(5) ? null : ToolOutput(reader.GetString(5))
                : reader.IsDBNull(4) ? null : Encoding.UTF8.GetString(reader.GetFieldValue<byte[]>(4));
            if (text is null)
            {
                continue;
            }

            hits.Add(new SessionSearchHit
            {
                SessionId = reader.GetString(0),
                MessageId = reader.GetString(1),
                PartId = reader.GetString(2),
                Source = tool ? SessionSearchSource.ToolOutput : SessionSearchSource.Text,
                Snippet = query.Snippet(text),
                Role = new ChatRole(reader.GetString(6)),
                CreatedAt = new DateTimeOffset(reader.GetDateTime(7).Ticks + reader.GetInt16(8), TimeSpan.Zero),
                Score = reader.GetDouble(9),
            });
        }

        return hits;
    }

    /// <summary>The output of a tool part's JSON; null when the JSON is not an object with a string <c>output</c>.</summary>
    private static string? ToolOutput(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object
                   && document.RootElement.TryGetProperty("output", out var output) && output.ValueKind == JsonValueKind.String
                ? output.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
