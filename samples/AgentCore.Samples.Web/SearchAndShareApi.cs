using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.AI;

namespace AgentCore.Samples.Web;

/// <summary>One hit of <c>GET /api/search</c>: where the words were found, the session's title and the marked snippet.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="SessionTitle">Its title.</param>
/// <param name="MessageId">The message.</param>
/// <param name="Role">Who wrote it.</param>
/// <param name="Source">Its text or a tool's output.</param>
/// <param name="CreatedAt">When the message was created.</param>
/// <param name="Snippet">The excerpt, with the matched words' positions.</param>
internal sealed record SearchHitView(
    string SessionId, string SessionTitle, string MessageId, string Role, SessionSearchSource Source, DateTimeOffset CreatedAt, SearchSnippet Snippet);

/// <summary>The answer of <c>POST /api/sessions/{id}/share</c>: the secret token and the page that shows the session with it.</summary>
/// <param name="Token">The token (shown once: only its hash is stored).</param>
/// <param name="Url">The read-only page's address, relative to the site; the token is in its fragment, which browsers never send.</param>
internal sealed record ShareLink(string Token, string Url);

/// <summary>A tool call in a shared conversation: its name and output only.</summary>
/// <param name="Name">The tool.</param>
/// <param name="Output">What it returned (null when it did not complete).</param>
internal sealed record SharedToolView(string Name, string? Output);

/// <summary>A message of a shared conversation: no ids, nothing to act on.</summary>
/// <param name="Role">Who wrote it.</param>
/// <param name="CreatedAt">When.</param>
/// <param name="Text">Its text parts, joined.</param>
/// <param name="Tools">Its tool calls.</param>
internal sealed record SharedMessageView(string Role, DateTimeOffset CreatedAt, string Text, IReadOnlyList<SharedToolView> Tools);

/// <summary>The answer of <c>GET /api/shared</c>: a shared session's title and conversation, read-only.</summary>
/// <param name="Title">The title.</param>
/// <param name="CreatedAt">When the session was created.</param>
/// <param name="Messages">The conversation.</param>
internal sealed record SharedSessionView(string Title, DateTimeOffset CreatedAt, IReadOnlyList<SharedMessageView> Messages);

/// <summary>
/// Search over every session, and share links: a session shared with an unguessable token (256 random bits from the
/// operating system's CSPRNG) that gives a read-only view of that one session until it is revoked.
/// </summary>
/// <remarks>
/// <para>Only the token's SHA-256 hash is stored, in the session's metadata under <see cref="ShareKey"/>; the view looks
/// it up with <see cref="ISessionService.ListAsync(SessionQuery, CancellationToken)"/> by metadata (an index lookup on
/// the SQL stores). Sharing again replaces the token (the old link stops working); revoking removes it.</para>
/// <para>The token travels in the link's fragment (<c>/shared.html#token</c>, never sent to the server) and then in the
/// <see cref="TokenHeader"/> header, so it is not in any URL the server logs. The view carries no ids and the shared
/// page calls no other endpoint. This sample has no user accounts: in a real app, sharing and revoking would require
/// the session's owner to be signed in.</para>
/// </remarks>
internal static partial class SearchAndShareApi
{
    /// <summary>The metadata key holding the hash (lower-case hex SHA-256) of a session's share token.</summary>
    public const string ShareKey = "share-sha256";

    /// <summary>The request header carrying a share token to <c>GET /api/shared</c>.</summary>
    public const string TokenHeader = "X-Share-Token";

    private const int TokenBytes = 32;

    public static void MapSearchAndShareApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/search", SearchAsync);
        app.MapPost("/api/sessions/{id}/share", ShareAsync);
        app.MapDelete("/api/sessions/{id}/share", RevokeAsync);
        app.MapGet("/api/shared", GetSharedAsync);
    }

    /// <summary>
    /// <c>GET /api/search?q=words&amp;limit=n</c>: the best hits across all sessions. A query with no word, or a limit out
    /// of range, is a 400 naming the value (the <see cref="ArgumentException"/> of <see cref="SessionSearchQuery"/>).
    /// </summary>
    private static async Task<IReadOnlyList<SearchHitView>> SearchAsync(string? q, int? limit, ISessionService service, CancellationToken cancellationToken)
    {
        var query = new SessionSearchQuery(q ?? "") { Limit = limit ?? SessionSearchQuery.DefaultLimit };
        var hits = await service.SearchAsync(query, cancellationToken);
        var titles = new Dictionary<string, string>(StringComparer.Ordinal);
        var views = new List<SearchHitView>(hits.Count);
        foreach (var hit in hits)
        {
            if (!titles.TryGetValue(hit.SessionId, out string? title))
            {
                try
                {
                    title = titles[hit.SessionId] = (await service.GetAsync(hit.SessionId, cancellationToken)).Title;
                }
                catch (SessionNotFoundException)
                {
                    continue; // deleted since the search
                }
            }

            views.Add(new SearchHitView(hit.SessionId, title, hit.MessageId, hit.Role.Value, hit.Source, hit.CreatedAt, hit.Snippet));
        }

        return views;
    }

    /// <summary><c>POST /api/sessions/{id}/share</c>: a new share token for the session, replacing any earlier one.</summary>
    private static async Task<Created<ShareLink>> ShareAsync(string id, ISessionService service, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        string token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(TokenBytes));
        string hash = Hash(token);
        await service.UpdateAsync(id, session => session with
        {
            Metadata = new Dictionary<string, string>(session.Metadata, StringComparer.Ordinal) { [ShareKey] = hash },
        }, cancellationToken);
        LogShared(loggers.CreateLogger(typeof(SearchAndShareApi)), id);
        string url = "/shared.html#" + token;
        return TypedResults.Created(url, new ShareLink(token, url));
    }

    /// <summary><c>DELETE /api/sessions/{id}/share</c>: the session's link stops working (204, also when it had none).</summary>
    private static async Task<NoContent> RevokeAsync(string id, ISessionService service, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        await service.UpdateAsync(id, session =>
        {
            if (!session.Metadata.ContainsKey(ShareKey))
            {
                return session;
            }

            var metadata = new Dictionary<string, string>(session.Metadata, StringComparer.Ordinal);
            metadata.Remove(ShareKey);
            return session with { Metadata = metadata };
        }, cancellationToken);
        LogRevoked(loggers.CreateLogger(typeof(SearchAndShareApi)), id);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// <c>GET /api/shared</c> with the token in <see cref="TokenHeader"/>: the shared session, read-only; 404 for a token
    /// that is malformed, unknown or revoked (all alike, so a guess learns nothing).
    /// </summary>
    private static async Task<Results<Ok<SharedSessionView>, ProblemHttpResult>> GetSharedAsync(HttpRequest request, ISessionService service, CancellationToken cancellationToken)
    {
        string? token = request.Headers[TokenHeader];
        if (token is null || token.Length != Base64Url.GetEncodedLength(TokenBytes) || !Base64Url.IsValid(token))
        {
            return NotShared();
        }

        var page = await service.ListAsync(new SessionQuery { Metadata = new Dictionary<string, string> { [ShareKey] = Hash(token) }, PageSize = 1 }, cancellationToken);
        if (page.Sessions is not [var session])
        {
            return NotShared();
        }

        IReadOnlyList<SessionMessage> messages;
        try
        {
            messages = await service.GetMessagesAsync(session.Id, cancellationToken);
        }
        catch (SessionNotFoundException)
        {
            return NotShared();
        }

        var views = messages
            .Where(static m => m.Role == ChatRole.User || m.Role == ChatRole.Assistant)
            .Select(static m => new SharedMessageView(
                m.Role.Value,
                m.CreatedAt,
                string.Concat(m.Parts.OfType<TextPart>().Select(static p => p.Text)),
                m.Parts.OfType<ToolPart>().Select(static t => new SharedToolView(t.ToolName, t.State == ToolState.Completed ? t.Output : null)).ToList()))
            .ToList();
        return TypedResults.Ok(new SharedSessionView(session.Title, session.CreatedAt, views));

        static ProblemHttpResult NotShared() =>
            TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not shared", detail: "This link is not valid, or its session is no longer shared.");
    }

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(token)));

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} shared with a new link")]
    private static partial void LogShared(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: share link revoked")]
    private static partial void LogRevoked(ILogger logger, string sessionId);
}
