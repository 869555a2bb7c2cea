using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentCore.Tests.Shared;

/// <summary>
/// A Kestrel server on 127.0.0.1 (a free port) that answers each request with the next scripted reply, for
/// driving real provider SDK clients in tests. Each request is recorded, with the body and the time of an
/// optional clock when it arrived, and announced on <see cref="Arrivals"/>.
/// </summary>
internal sealed class LocalHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Func<HttpContext, Task>> _replies = new();
    private readonly ConcurrentQueue<Request> _requests = new();
    private readonly Channel<Request> _arrivals = Channel.CreateUnbounded<Request>();
    private readonly TimeProvider _clock;
    private Func<HttpContext, Task>? _otherwise;

    private LocalHttpServer(TimeProvider clock)
    {
        _clock = clock;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.Run(HandleAsync);
    }

    /// <summary>One request the server received.</summary>
    /// <param name="Path">The request path.</param>
    /// <param name="Body">The request body as text.</param>
    /// <param name="ReceivedAt">The clock's time when it arrived.</param>
    internal sealed record Request(string Path, string Body, DateTimeOffset ReceivedAt);

    /// <summary>The server's address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The requests received so far, in order.</summary>
    public IReadOnlyList<Request> Requests => [.. _requests];

    /// <summary>Each request as it arrives: a test awaits the one it expects.</summary>
    public ChannelReader<Request> Arrivals => _arrivals.Reader;

    /// <summary>Starts a server; <paramref name="clock"/> (default: the system clock) stamps each request.</summary>
    public static async Task<LocalHttpServer> StartAsync(TimeProvider? clock = null)
    {
        var server = new LocalHttpServer(clock ?? TimeProvider.System);
        await server._app.StartAsync();
        string address = server._app.Urls.Single();
        server.BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
        return server;
    }

    /// <summary>Queues the reply to the next request.</summary>
    public LocalHttpServer Enqueue(Func<HttpContext, Task> reply)
    {
        _replies.Enqueue(reply);
        return this;
    }

    /// <summary>The reply to every request when none is queued (without it such a request gets a 500 naming it).</summary>
    public LocalHttpServer Otherwise(Func<HttpContext, Task> reply)
    {
        _otherwise = reply;
        return this;
    }

    /// <summary>Queues an error status with the given headers and a JSON body.</summary>
    public LocalHttpServer EnqueueStatus(int status, string jsonBody, params (string Name, string Value)[] headers) =>
        Enqueue(async context =>
        {
            context.Response.StatusCode = status;
            foreach (var (name, value) in headers)
            {
                context.Response.Headers[name] = value;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(jsonBody);
        });

    /// <summary>Queues a server-sent event stream: each item is written as one event (<c>event:</c> line when named).</summary>
    public LocalHttpServer EnqueueEvents(IEnumerable<(string? Event, string Data)> events) =>
        Enqueue(async context =>
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/event-stream";
            var text = new StringBuilder();
            foreach (var (name, data) in events)
            {
                if (name is not null)
                {
                    text.Append("event: ").Append(name).Append('\n');
                }

                text.Append("data: ").Append(data).Append("\n\n");
            }

            await context.Response.WriteAsync(text.ToString());
        });

    public async ValueTask DisposeAsync()
    {
        _arrivals.Writer.TryComplete();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var request = new Request(context.Request.Path.Value ?? "", await reader.ReadToEndAsync(), _clock.GetUtcNow());
        _requests.Enqueue(request);
        _arrivals.Writer.TryWrite(request);
        if (_replies.TryDequeue(out var reply) || (reply = _otherwise) is not null)
        {
            await reply(context);
        }
        else
        {
            context.Response.StatusCode = 500;
            await context.Response.WriteAsync($"LocalHttpServer: no reply queued for request {_requests.Count} ({request.Path}).");
        }
    }
}
