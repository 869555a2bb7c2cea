using System.Collections.Concurrent;
using Microsoft.Extensions.AI;

namespace AgentCore.Samples.Web;

/// <summary>
/// Where a reply's events start, for a page that finds the reply still open in the stored messages and has no event id
/// of its own (it was opened, or reloaded, while the turn ran, possibly on another instance): the sequence just before
/// the reply's first <see cref="MessageUpdated"/>. Following the session after it replays the whole reply so far, then
/// continues live. The turns this instance streams are remembered here (the latest per session); with events across
/// instances (PostgreSQL), the stored events of the session are searched for the others (for up to ten seconds).
/// </summary>
internal sealed class TurnStarts(IServiceProvider services)
{
    private static readonly TimeSpan RelayWait = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, (string MessageId, long After)> _local = new(StringComparer.Ordinal);

    /// <summary>Notes where an assistant reply starts, from the events of a turn this instance streams.</summary>
    public void Observe(SessionEvent sessionEvent)
    {
        if (sessionEvent is MessageUpdated { Message: { Role: var role, Id: var messageId } } && role == ChatRole.Assistant &&
            !(_local.TryGetValue(sessionEvent.SessionId, out var known) && known.MessageId == messageId))
        {
            _local[sessionEvent.SessionId] = (messageId, sessionEvent.Sequence - 1);
        }
    }

    /// <summary>The sequence to follow the session after to get the reply <paramref name="messageId"/> from its start; null when unknown.</summary>
    public async Task<long?> FindAsync(string sessionId, string messageId, CancellationToken cancellationToken)
    {
        if (_local.TryGetValue(sessionId, out var known) && known.MessageId == messageId)
        {
            return known.After;
        }

        if (services.GetService<ISessionEventRelay>() is { } relay)
        {
            // The instance running the turn stores its events in batches, so the reply's first event may not be stored
            // yet although the reply is: follow the stored events until it is, for a bounded time.
            using var wait = new CancellationTokenSource(RelayWait, services.GetRequiredService<TimeProvider>());
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(wait.Token, cancellationToken);
            try
            {
                await foreach (var stored in relay.FollowAsync(sessionId, 0, linked.Token))
                {
                    if (stored is MessageUpdated updated && updated.Message.Id == messageId)
                    {
                        return stored.Sequence - 1;
                    }
                }
            }
            catch (OperationCanceledException) when (wait.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // Not stored (the events are gone, or the reply was left open by a crash): follow from now.
            }
        }

        return null;
    }
}
