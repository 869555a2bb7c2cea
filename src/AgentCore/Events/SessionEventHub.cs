using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace AgentCore;

/// <summary>
/// The default <see cref="ISessionEvents"/>: fans every published event out to the current subscribers.
/// Publishing with no subscriber costs one dictionary check.
/// </summary>
internal sealed class SessionEventHub : ISessionEvents
{
    private readonly ConcurrentDictionary<Subscriber, byte> _subscribers = new();

    public void Publish(SessionEvent sessionEvent)
    {
        // Enumerating the dictionary itself takes no lock and copies nothing (Keys and IsEmpty would take every lock).
        foreach (var (subscriber, _) in _subscribers)
        {
            if (subscriber.SessionId is null || subscriber.SessionId == sessionEvent.SessionId)
            {
                subscriber.Channel.Writer.TryWrite(sessionEvent);
            }
        }
    }

    public IAsyncEnumerable<SessionEvent> SubscribeAsync(string? sessionId = null, CancellationToken cancellationToken = default)
    {
        if (sessionId is not null)
        {
            Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        }

        // Subscribe now, not at the first MoveNextAsync, so no event raised after this call is missed.
        var subscriber = new Subscriber(sessionId);
        _subscribers.TryAdd(subscriber, 0);

        // A caller that cancels before (or without) enumerating must not leave the subscription behind.
        subscriber.Cancellation = cancellationToken.Register(static state =>
        {
            var (hub, s) = ((SessionEventHub, Subscriber))state!;
            hub._subscribers.TryRemove(s, out _);
        }, (this, subscriber));
        return ReadAsync(subscriber, cancellationToken);
    }

    private async IAsyncEnumerable<SessionEvent> ReadAsync(Subscriber subscriber, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            while (await subscriber.Channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (subscriber.Channel.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }
        }
        finally
        {
            _subscribers.TryRemove(subscriber, out _);
            await subscriber.Cancellation.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class Subscriber(string? sessionId)
    {
        public string? SessionId { get; } = sessionId;

        public CancellationTokenRegistration Cancellation { get; set; }

        public Channel<SessionEvent> Channel { get; } =
            System.Threading.Channels.Channel.CreateUnbounded<SessionEvent>(new UnboundedChannelOptions { SingleReader = true });
    }
}
