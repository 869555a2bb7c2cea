using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace AgentCore.Samples.Web;

/// <summary>
/// Turns AgentCore's exceptions into problem details: an unknown session is 404, a session busy with another turn
/// is 409, a bad argument (an invalid id, an empty message, a missing model) is 400. Anything else stays a 500.
/// </summary>
internal sealed class AgentCoreExceptionHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        (int status, string title)? mapped = exception switch
        {
            SessionNotFoundException => (StatusCodes.Status404NotFound, "Session not found"),
            SessionBusyException => (StatusCodes.Status409Conflict, "Session busy"),
            ArgumentException or ModelNotFoundException => (StatusCodes.Status400BadRequest, "Bad request"),
            _ => null,
        };
        if (mapped is not { } problem)
        {
            return false;
        }

        // Written as application/problem+json whatever the request accepts: a chat request accepts text/event-stream,
        // and its client still needs to read why it got no stream.
        await TypedResults.Problem(new ProblemDetails { Status = problem.status, Title = problem.title, Detail = exception.Message }).ExecuteAsync(httpContext);
        return true;
    }
}
