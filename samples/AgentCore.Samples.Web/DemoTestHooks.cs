using System.Collections.Concurrent;

namespace AgentCore.Samples.Web;

/// <summary>
/// Hooks for the sample's own tests, off unless <c>Demo:TestHooks</c> is true: the demo model then writes each word of
/// a reply only once a test has released it (<c>POST /api/test/release?words=N</c>), so a test knows where in a reply
/// it reloads the page or drops a connection without waiting for time; and <c>POST /api/test/drop-streams</c> breaks
/// every event stream this instance is serving, as a network failure would. Never enable them in a real deployment.
/// </summary>
internal sealed class DemoTestHooks
{
    private readonly SemaphoreSlim _words = new(0);
    private readonly ConcurrentDictionary<HttpContext, byte> _streams = new();

    /// <summary>Waits until a test releases the next word of a reply.</summary>
    public Task WaitForWordAsync(CancellationToken cancellationToken) => _words.WaitAsync(cancellationToken);

    /// <summary>Lets the demo model write <paramref name="words"/> more words.</summary>
    public void Release(int words) => _words.Release(words);

    /// <summary>Tracks the requests for event streams (the chat, approvals and follow endpoints) while they run.</summary>
    public async Task TrackAsync(HttpContext context, RequestDelegate next)
    {
        bool stream = context.Request.Path.StartsWithSegments("/api/sessions", StringComparison.Ordinal) &&
                      (context.Request.Path.Value!.EndsWith("/chat", StringComparison.Ordinal) ||
                       context.Request.Path.Value.EndsWith("/approvals", StringComparison.Ordinal) ||
                       context.Request.Path.Value.EndsWith("/events", StringComparison.Ordinal));
        if (!stream)
        {
            await next(context);
            return;
        }

        _streams.TryAdd(context, 0);
        try
        {
            await next(context);
        }
        finally
        {
            _streams.TryRemove(context, out _);
        }
    }

    /// <summary>Aborts the connection of every event stream being served; returns how many.</summary>
    public int DropStreams()
    {
        int dropped = 0;
        foreach (var context in _streams.Keys)
        {
            context.Abort();
            dropped++;
        }

        return dropped;
    }
}

/// <summary>Registers and maps <see cref="DemoTestHooks"/> when <c>Demo:TestHooks</c> is true.</summary>
internal static class DemoTestHooksExtensions
{
    public const string Setting = "Demo:TestHooks";

    public static bool TestHooksEnabled(this IConfiguration configuration) => configuration.GetValue(Setting, false);

    public static void UseDemoTestHooks(this WebApplication app)
    {
        var hooks = app.Services.GetService<DemoTestHooks>();
        if (hooks is null)
        {
            return;
        }

        app.Use(hooks.TrackAsync);
        app.MapPost("/api/test/release", (int? words) =>
        {
            int count = words ?? 1;
            if (count < 1)
            {
                throw new ArgumentException("Release at least one word.", nameof(words));
            }

            hooks.Release(count);
            return TypedResults.NoContent();
        });
        app.MapPost("/api/test/drop-streams", () => TypedResults.Ok(new { dropped = hooks.DropStreams() }));
    }
}
