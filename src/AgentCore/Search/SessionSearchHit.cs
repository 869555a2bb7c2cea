using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// One result of <see cref="ISessionService.SearchAsync"/>: a part of a message that holds every word of the query.
/// </summary>
public sealed record SessionSearchHit
{
    /// <summary>The session the message belongs to.</summary>
    public required string SessionId { get; init; }

    /// <summary>The message the match is in.</summary>
    public required string MessageId { get; init; }

    /// <summary>The part of the message the match is in.</summary>
    public required string PartId { get; init; }

    /// <summary>Who wrote the message (user, assistant, ...).</summary>
    public required ChatRole Role { get; init; }

    /// <summary>When the message was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Whether the match is in the text of the message or in a tool's output.</summary>
    public required SessionSearchSource Source { get; init; }

    /// <summary>The excerpt around the match, with the matched words marked.</summary>
    public required SearchSnippet Snippet { get; init; }

    /// <summary>
    /// How well the part matches: higher is better. Each store ranks in its own way (SQLite FTS5's BM25, PostgreSQL's
    /// <c>ts_rank</c>, a term-frequency count for the scanning stores), so scores compare only within one search.
    /// </summary>
    public required double Score { get; init; }
}
