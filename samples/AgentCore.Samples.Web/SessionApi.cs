using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace AgentCore.Samples.Web;

/// <summary>The body of <c>POST /api/sessions</c>; every member is optional.</summary>
/// <param name="Title">The title; null for AgentCore's default (a generated title replaces it after the first turn).</param>
internal sealed record CreateSessionBody(string? Title);

/// <summary>The body of <c>PATCH /api/sessions/{id}</c>.</summary>
/// <param name="Title">The new title.</param>
internal sealed record UpdateSessionBody(string? Title);

/// <summary>The body of <c>POST /api/sessions/{id}/chat</c>.</summary>
/// <param name="Text">What the user says.</param>
internal sealed record ChatBody(string? Text);

/// <summary>One answer in the body of <c>POST /api/sessions/{id}/approvals</c>.</summary>
/// <param name="CallId">The tool call waiting for approval.</param>
/// <param name="Approved">Whether it may run.</param>
/// <param name="Reason">Why (the model sees it when the call is denied).</param>
internal sealed record ApprovalAnswer(string CallId, bool Approved, string? Reason);

/// <summary>The body of <c>POST /api/sessions/{id}/approvals</c>: an answer for every call waiting for approval.</summary>
/// <param name="Answers">The answers.</param>
internal sealed record ApprovalsBody(IReadOnlyList<ApprovalAnswer>? Answers);

/// <summary>A tool call waiting for approval, as <c>GET /api/sessions/{id}/approvals</c> lists it and the <c>tool-approval-requested</c> event carries it.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="CallId">The call (the approval request's id).</param>
/// <param name="ToolName">The tool.</param>
/// <param name="Arguments">The arguments the model sent.</param>
internal sealed record PendingApprovalView(string SessionId, string CallId, string ToolName, IDictionary<string, object?>? Arguments);

/// <summary>The answer of <c>POST /api/sessions/{id}/abort</c>.</summary>
/// <param name="Aborted">Whether a running turn was told to stop (false when the session ran none).</param>
internal sealed record AbortResult(bool Aborted);

/// <summary>
/// The HTTP API over <see cref="ISessionService"/>. Errors are problem details (RFC 9457), mapped by
/// <see cref="AgentCoreExceptionHandler"/>: unknown session 404, busy session 409, bad argument 400.
/// </summary>
internal static partial class SessionApi
{
    public const int MaxTitleLength = 200;

    public static void MapSessionApi(this IEndpointRouteBuilder app)
    {
        var sessions = app.MapGroup("/api/sessions");
        sessions.MapPost("/", CreateAsync);
        sessions.MapGet("/", List);
        sessions.MapGet("/{id}", GetAsync);
        sessions.MapPatch("/{id}", UpdateAsync);
        sessions.MapDelete("/{id}", DeleteAsync);
        sessions.MapGet("/{id}/messages", GetMessagesAsync);
        sessions.MapPost("/{id}/chat", ChatAsync);
        sessions.MapPost("/{id}/abort", Abort);
        sessions.MapGet("/{id}/events", FollowAsync);
        sessions.MapGet("/{id}/approvals", GetApprovalsAsync);
        sessions.MapPost("/{id}/approvals", AnswerApprovalsAsync);
        app.MapGet("/api/events", SessionChanges);
    }

    private static async Task<Created<SessionInfo>> CreateAsync(CreateSessionBody? body, ISessionService service, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var session = await service.CreateAsync(new CreateSessionRequest { Title = body?.Title is null ? null : ValidTitle(body.Title) }, cancellationToken);
        LogCreated(Logger(loggers), session.Id);
        return TypedResults.Created($"/api/sessions/{session.Id}", session);
    }

    private static IAsyncEnumerable<SessionInfo> List(ISessionService service, CancellationToken cancellationToken) =>
        service.ListAsync(cancellationToken);

    private static Task<SessionInfo> GetAsync(string id, ISessionService service, CancellationToken cancellationToken) =>
        service.GetAsync(id, cancellationToken);

    private static Task<SessionInfo> UpdateAsync(string id, UpdateSessionBody body, ISessionService service, CancellationToken cancellationToken)
    {
        string title = ValidTitle(body.Title);
        return service.UpdateAsync(id, session => session with { Title = title }, cancellationToken);
    }

    private static async Task<NoContent> DeleteAsync(string id, ISessionService service, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (!await service.DeleteAsync(id, cancellationToken))
        {
            throw new SessionNotFoundException(id);
        }

        LogDeleted(Logger(loggers), id);
        return TypedResults.NoContent();
    }

    private static Task<IReadOnlyList<SessionMessage>> GetMessagesAsync(string id, ISessionService service, CancellationToken cancellationToken) =>
        service.GetMessagesAsync(id, cancellationToken);

    private static AbortResult Abort(string id, ISessionService service) => new(service.Abort(id));

    private static async Task<IEnumerable<PendingApprovalView>> GetApprovalsAsync(string id, ISessionService service, CancellationToken cancellationToken) =>
        (await service.GetPendingApprovalsAsync(id, cancellationToken)).Select(request => View(id, request));

    /// <summary>
    /// Continues a turn that waits for approval: the answers become <see cref="Microsoft.Extensions.AI.ToolApprovalResponseContent"/>s
    /// (<c>request.CreateResponse(approved, reason)</c>) and the turn streams like <c>POST /chat</c>. AgentCore checks them:
    /// an unknown or already answered call, or one left unanswered, is a 400 and changes nothing.
    /// </summary>
    private static async Task<ServerSentEventsResult<string>> AnswerApprovalsAsync(
        string id, ApprovalsBody body, ISessionService service, TurnStarts turnStarts, IHostApplicationLifetime lifetime, IOptions<JsonOptions> json,
        ILoggerFactory loggers, CancellationToken cancellationToken, bool detached = false)
    {
        if (body.Answers is not { Count: > 0 } answers)
        {
            throw new ArgumentException("Send at least one answer: { \"answers\": [ { \"callId\": ..., \"approved\": true } ] }.", nameof(body));
        }

        var waiting = (await service.GetPendingApprovalsAsync(id, cancellationToken)).ToDictionary(static r => r.RequestId, StringComparer.Ordinal);
        var contents = answers.Select(answer => (Microsoft.Extensions.AI.AIContent)(waiting.TryGetValue(answer.CallId ?? "", out var request)
            ? request.CreateResponse(answer.Approved, answer.Reason)
            // Not waiting: AgentCore's own check says why (unknown, or answered already) as a 400.
            : new Microsoft.Extensions.AI.ToolApprovalResponseContent(answer.CallId ?? "", answer.Approved, new Microsoft.Extensions.AI.FunctionCallContent(answer.CallId ?? "", "unknown"))))
            .ToList();
        var turnToken = detached ? lifetime.ApplicationStopping : cancellationToken;
        return await StartStreamAsync(id, service.ChatStreamingAsync(new ChatRequest { SessionId = id, Contents = contents }, turnToken), turnStarts, detached, json, loggers, turnToken);
    }

    private static PendingApprovalView View(string sessionId, Microsoft.Extensions.AI.ToolApprovalRequestContent request) =>
        request.ToolCall is Microsoft.Extensions.AI.FunctionCallContent call
            ? new PendingApprovalView(sessionId, request.RequestId, call.Name, call.Arguments)
            : new PendingApprovalView(sessionId, request.RequestId, "", null);

    /// <summary>
    /// Runs one turn and streams every <see cref="SessionEvent"/> of it as a Server-Sent Event named after its type
    /// (<c>text-delta</c>, <c>tool-call-updated</c>, <c>step-finished</c>, ..., ending with <c>turn-completed</c>),
    /// with the event as JSON in <c>data</c>. A client that disconnects aborts the turn, unless it asked for
    /// <c>?detached=true</c> (the page does): then the turn runs to its end without it (until the app stops), and the
    /// client follows the rest with <c>GET /api/sessions/{id}/events</c>. Stop ends a detached turn (<c>POST .../abort</c>).
    /// </summary>
    private static async Task<ServerSentEventsResult<string>> ChatAsync(
        string id, ChatBody body, ISessionService service, TurnStarts turnStarts, IHostApplicationLifetime lifetime, IOptions<JsonOptions> json,
        ILoggerFactory loggers, CancellationToken cancellationToken, bool detached = false)
    {
        var turnToken = detached ? lifetime.ApplicationStopping : cancellationToken;
        return await StartStreamAsync(id, service.ChatStreamingAsync(new ChatRequest { SessionId = id, Text = body.Text }, turnToken), turnStarts, detached, json, loggers, turnToken);
    }

    private static async Task<ServerSentEventsResult<string>> StartStreamAsync(
        string id, IAsyncEnumerable<SessionEvent> turn, TurnStarts turnStarts, bool detached, IOptions<JsonOptions> json, ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var events = turn.GetAsyncEnumerator(cancellationToken);
        bool first;
        try
        {
            // The turn takes the session's lock and loads it before its first event: an unknown or busy session
            // fails here, while the status code can still say so.
            first = await events.MoveNextAsync();
        }
        catch
        {
            await events.DisposeAsync();
            throw;
        }

        return TypedResults.ServerSentEvents(StreamAsync(id, events, first, turnStarts, detached, json.Value.SerializerOptions, Logger(loggers)));
    }

    private static async IAsyncEnumerable<SseItem<string>> StreamAsync(
        string sessionId, IAsyncEnumerator<SessionEvent> events, bool hasEvent, TurnStarts turnStarts, bool detached, JsonSerializerOptions json, ILogger logger)
    {
        TurnCompleted? completed = null;
        try
        {
            while (hasEvent)
            {
                var current = events.Current;
                completed = current as TurnCompleted ?? completed;
                turnStarts.Observe(current);
                yield return Item(current, json);

                Exception? failure = null;
                try
                {
                    hasEvent = await events.MoveNextAsync();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    failure = ex;
                    hasEvent = false;
                }

                if (failure is not null)
                {
                    // The status line is sent: the failure becomes the stream's last event.
                    LogTurnFailed(logger, failure, sessionId);
                    var problem = new { title = "The turn failed.", detail = failure.Message, status = StatusCodes.Status500InternalServerError };
                    yield return new SseItem<string>(JsonSerializer.Serialize(problem, json), "error");
                }
            }
        }
        finally
        {
            if (detached && hasEvent)
            {
                // The client left a detached turn: it runs on, its events still published for GET .../events.
                LogClientLeftDetached(logger, sessionId);
                _ = FinishDetachedAsync(sessionId, events, completed, turnStarts, logger);
            }
            else
            {
                // Ends the turn if it still runs (the client left: AgentCore aborts it) and waits for its lock to be released.
                await events.DisposeAsync();
                if (completed is not null)
                {
                    LogTurnEnded(logger, sessionId, completed.ExitReason.Value, completed.Message.Cost);
                }
                else
                {
                    LogClientLeft(logger, sessionId);
                }
            }
        }
    }

    /// <summary>Reads a detached turn to its end after its client left, then ends it and logs how it ended.</summary>
    private static async Task FinishDetachedAsync(
        string sessionId, IAsyncEnumerator<SessionEvent> events, TurnCompleted? completed, TurnStarts turnStarts, ILogger logger)
    {
        try
        {
            while (await events.MoveNextAsync())
            {
                completed = events.Current as TurnCompleted ?? completed;
                turnStarts.Observe(events.Current);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogTurnFailed(logger, ex, sessionId);
        }
        catch (OperationCanceledException)
        {
            // The app is stopping.
        }
        finally
        {
            await events.DisposeAsync();
        }

        if (completed is not null)
        {
            LogTurnEnded(logger, sessionId, completed.ExitReason.Value, completed.Message.Cost);
        }
    }

    /// <summary>
    /// Streams session changes (created, updated — a new title or new totals —, deleted) of every session as
    /// Server-Sent Events, until the client disconnects or the app stops. The page keeps its list fresh with it.
    /// </summary>
    private static ServerSentEventsResult<string> SessionChanges(
        ISessionEvents events, IHostApplicationLifetime lifetime, IOptions<JsonOptions> json, HttpContext context)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        context.Response.RegisterForDispose(stop);
        return TypedResults.ServerSentEvents(ChangesAsync(events, json.Value.SerializerOptions, stop.Token));
    }

    private static async IAsyncEnumerable<SseItem<string>> ChangesAsync(ISessionEvents events, JsonSerializerOptions json, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var subscription = events.SubscribeAsync(null, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            // A first event, so the client knows it is subscribed before any session changes.
            yield return new SseItem<string>("{\"subscribed\":true}", "ready");
            while (true)
            {
                try
                {
                    if (!await subscription.MoveNextAsync())
                    {
                        yield break;
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    yield break;
                }
                catch (SubscriberLaggedException)
                {
                    // This client fell thousands of events behind: end the stream; the page reconnects and reloads its list.
                    yield break;
                }

                if (subscription.Current is SessionCreated or SessionUpdated or SessionDeleted)
                {
                    // No id: sequences are per session, and this stream has every session's events.
                    yield return new SseItem<string>(JsonSerializer.Serialize(subscription.Current, subscription.Current.GetType(), json), EventName(subscription.Current));
                }
            }
        }
        finally
        {
            await subscription.DisposeAsync();
        }
    }

    /// <summary>
    /// Follows one session as Server-Sent Events, each with <c>id:</c> = <see cref="SessionEvent.Sequence"/>. A client
    /// that reconnects sends the last id it got in the <c>Last-Event-ID</c> header (browsers' <c>EventSource</c> does so
    /// by itself) or as <c>?after=</c>, and gets what it missed — the rest of the running turn, or of one that just ended —
    /// then the live events. When what it missed is no longer kept, the stream sends <c>reset</c> and ends: reload the
    /// messages and follow again without an id. A page that finds a reply still open in the stored messages, without an id,
    /// passes that message's id as <c>?message=</c> and gets the reply's events from its start (see <see cref="TurnStarts"/>).
    /// </summary>
    private static async Task<ServerSentEventsResult<string>> FollowAsync(
        string id, ISessionService service, ISessionEvents events, TurnStarts turnStarts, IHostApplicationLifetime lifetime, IOptions<JsonOptions> json,
        HttpContext context, string? after = null, string? message = null)
    {
        long? afterSequence = ParseSequence(context.Request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } header ? header : after);
        await service.GetAsync(id, context.RequestAborted);   // 404 for an unknown session while the status can say so
        if (afterSequence is null && !string.IsNullOrEmpty(message))
        {
            afterSequence = await turnStarts.FindAsync(id, message, context.RequestAborted);
        }

        var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        context.Response.RegisterForDispose(stop);
        var subscription = events.SubscribeAsync(id, afterSequence, stop.Token);
        return TypedResults.ServerSentEvents(FollowEventsAsync(subscription, json.Value.SerializerOptions, stop.Token));
    }

    private static async IAsyncEnumerable<SseItem<string>> FollowEventsAsync(
        IAsyncEnumerable<SessionEvent> subscription, JsonSerializerOptions json, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var events = subscription.GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                SubscriberLaggedException? lagged = null;
                try
                {
                    if (!await events.MoveNextAsync())
                    {
                        yield break;
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    yield break;
                }
                catch (SubscriberLaggedException ex)
                {
                    lagged = ex;
                }

                if (lagged is not null)
                {
                    yield return new SseItem<string>(JsonSerializer.Serialize(new { lastSequence = lagged.LastSequence }, json), "reset");
                    yield break;
                }

                yield return Item(events.Current, json);
            }
        }
        finally
        {
            await events.DisposeAsync();
        }
    }

    private static long? ParseSequence(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        return long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long sequence)
            ? sequence
            : throw new ArgumentException($"An event id must be a sequence number; '{value}' is not.", "Last-Event-ID");
    }

    /// <summary>A session event as a Server-Sent Event: named by <see cref="EventName"/>, JSON data, its sequence as the id.</summary>
    // An approval request goes out as its call (id, tool, arguments): what the page needs to show the buttons.
    private static SseItem<string> Item(SessionEvent sessionEvent, JsonSerializerOptions json) =>
        new(sessionEvent is ToolApprovalRequested asked
                ? JsonSerializer.Serialize(View(asked.SessionId, asked.Request), json)
                : JsonSerializer.Serialize(sessionEvent, sessionEvent.GetType(), json),
            EventName(sessionEvent))
        {
            EventId = sessionEvent.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };

    /// <summary>The SSE event name of a session event: its type name in kebab case (<c>TextDelta</c> → <c>text-delta</c>).</summary>
    public static string EventName(SessionEvent sessionEvent) => UpperCase().Replace(sessionEvent.GetType().Name, "-$1").ToLowerInvariant();

    private static ILogger Logger(ILoggerFactory loggers) => loggers.CreateLogger(typeof(SessionApi).FullName!);

    private static string ValidTitle(string? title)
    {
        string trimmed = title?.Trim() ?? "";
        if (trimmed.Length is 0 or > MaxTitleLength)
        {
            throw new ArgumentException($"A title must have 1 to {MaxTitleLength} characters; this one has {trimmed.Length}.", nameof(title));
        }

        return trimmed;
    }

    [GeneratedRegex("(?<!^)([A-Z])", RegexOptions.CultureInvariant)]
    private static partial Regex UpperCase();

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} created")]
    private static partial void LogCreated(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} deleted")]
    private static partial void LogDeleted(ILogger logger, string sessionId);

    // Ids, outcomes and cost only: message contents are never logged at Information or above.
    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: turn ended ({ExitReason}), cost {Cost} USD")]
    private static partial void LogTurnEnded(ILogger logger, string sessionId, string exitReason, decimal cost);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: turn ended (the client disconnected, so it was aborted)")]
    private static partial void LogClientLeft(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: the client left a detached turn, which goes on")]
    private static partial void LogClientLeftDetached(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Session {SessionId}: the turn failed after its stream started")]
    private static partial void LogTurnFailed(ILogger logger, Exception exception, string sessionId);
}
