using System.Collections.Concurrent;

namespace AgentCore.Samples.Chat;

/// <summary>
/// Catches the titles AgentCore generates in the background after a session's first message: it listens to
/// <see cref="ISessionEvents"/> for a <see cref="SessionUpdated"/> whose title is no longer the default one.
/// </summary>
internal sealed class TitleWatcher : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _titles = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _listening;

    public TitleWatcher(ISessionEvents events)
    {
        // Subscribed here, before any turn starts, so no title is missed.
        var subscription = events.SubscribeAsync(sessionId: null, _stop.Token);
        _listening = Task.Run(async () =>
        {
            try
            {
                await foreach (var sessionEvent in subscription)
                {
                    if (sessionEvent is SessionUpdated { Session: { HasDefaultTitle: false } session })
                    {
                        Of(session.Id).TrySetResult(session.Title);
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
        });
    }

    /// <summary>The session's generated title, or null when none arrives within <paramref name="limit"/>.</summary>
    public async Task<string?> WaitAsync(string sessionId, TimeSpan limit)
    {
        try
        {
            return await Of(sessionId).Task.WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    private TaskCompletionSource<string> Of(string sessionId) =>
        _titles.GetOrAdd(sessionId, static _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _listening;
        _stop.Dispose();
    }
}
