using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace AgentCore;

/// <summary>
/// The default <see cref="ISessionEvents"/>. Each session has a <see cref="SessionLog"/>: a ring of its last
/// <see cref="SessionEventsOptions.ReplayCapacity"/> events, numbered by <see cref="SessionEvent.Sequence"/>. A
/// subscriber of one session is a cursor into that ring, so publishing costs the same for one subscriber or a thousand
/// (write a slot, wake the waiting readers with one queued work item), a slow subscriber holds no memory of its own, and
/// replay after a reconnect is reading the ring from an older cursor. Subscribers of all sessions get a bounded channel each.
/// </summary>
internal sealed class SessionEventHub : ISessionEvents
{
    private readonly ConcurrentDictionary<string, SessionLog> _logs = new(StringComparer.Ordinal);
    // Copy on write: subscribing is rare, publishing is per streamed update, and enumerating the array allocates nothing.
    private ImmutableArray<AllSessionsSubscriber> _allSessions = [];
    private readonly TimeProvider _time;
    private readonly SessionEventsOptions _options;
    private long _lastSweep;

    public SessionEventHub(TimeProvider time, IOptions<SessionEventsOptions> options)
    {
        _time = time;
        _options = options.Value;
        _options.Validate();
        _lastSweep = time.GetTimestamp();
    }

    /// <summary>Assigns the event its <see cref="SessionEvent.Sequence"/> and delivers it; returns the same instance.</summary>
    public SessionEvent Publish(SessionEvent sessionEvent)
    {
        while (true)
        {
            var log = _logs.GetOrAdd(sessionEvent.SessionId, static (_, hub) => hub.NewLog(), this);
            TaskCompletionSource? waiting;
            lock (log)
            {
                if (log.Removed)
                {
                    continue;
                }

                long sequence = log.Last + 1;
                sessionEvent.AssignSequence(sequence);
                var ring = log.Ring;
                if (sequence - log.Start > ring.Length && ring.Length < log.Capacity)
                {
                    ring = log.Grow();
                }

                Volatile.Write(ref ring[sequence % ring.Length], sessionEvent);
                Volatile.Write(ref log.Last, sequence);
                log.LastPublishedAt = _time.GetTimestamp();
                waiting = log.Waiting;
                log.Waiting = null;

                // Under the log's lock, so subscribers of all sessions see a session's events in sequence order too.
                foreach (var subscriber in _allSessions)
                {
                    subscriber.Deliver(sessionEvent);
                }
            }

            if (waiting is not null)
            {
                // One work item whatever the number of readers; it queues each reader's continuation in turn.
                ThreadPool.UnsafeQueueUserWorkItem(static s => s.TrySetResult(), waiting, preferLocal: false);
            }

            return sessionEvent;
        }
    }

    public IAsyncEnumerable<SessionEvent> SubscribeAsync(string? sessionId = null, CancellationToken cancellationToken = default) =>
        SubscribeAsync(sessionId, afterSequence: null, cancellationToken);

    public IAsyncEnumerable<SessionEvent> SubscribeAsync(string? sessionId, long? afterSequence, CancellationToken cancellationToken = default)
    {
        if (sessionId is null)
        {
            if (afterSequence is not null)
            {
                throw new ArgumentException(
                    $"Sequences are per session: afterSequence ({afterSequence}) needs a sessionId.", nameof(afterSequence));
            }

            return SubscribeAll(cancellationToken);
        }

        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));

        // Subscribe now, not at the first MoveNextAsync, so no event raised after this call is missed.
        while (true)
        {
            var log = _logs.GetOrAdd(sessionId, static (_, hub) => hub.NewLog(), this);
            lock (log)
            {
                if (log.Removed)
                {
                    continue;
                }

                log.Subscribers++;
                long last = log.Last;
                long next = afterSequence is { } after && after < last ? after + 1 : last + 1;
                var subscription = new SessionSubscription(log, next);

                // A caller that cancels before (or without) enumerating must not keep the log alive.
                subscription.Cancellation = cancellationToken.Register(static state => ((SessionSubscription)state!).Leave(), subscription);
                return ReadAsync(sessionId, subscription, cancellationToken);
            }
        }
    }

    private SessionLog NewLog()
    {
        // Sweeping when a session's log is created, at most once per retention, needs no timer and bounds the logs
        // kept by the sessions active within about twice the retention.
        long now = _time.GetTimestamp();
        long lastSweep = Volatile.Read(ref _lastSweep);
        if (_time.GetElapsedTime(lastSweep, now) >= _options.Retention && Interlocked.CompareExchange(ref _lastSweep, now, lastSweep) == lastSweep)
        {
            Sweep();
        }

        // A session's numbering starts from the clock (microseconds since 1970), so a log created after the old one was
        // swept, or in a restarted process, continues above any sequence handed out before.
        long start = _time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        return new SessionLog(_options.ReplayCapacity, start, _time.GetTimestamp());
    }

    private async IAsyncEnumerable<SessionEvent> ReadAsync(
        string sessionId, SessionSubscription subscription, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var log = subscription.Log;
        long next = subscription.Next;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                long last = Volatile.Read(ref log.Last);
                if (next <= last)
                {
                    var ring = Volatile.Read(ref log.Ring);
                    var item = Volatile.Read(ref ring[next % ring.Length]);
                    if (item is null || item.Sequence != next)
                    {
                        if (!ReferenceEquals(ring, Volatile.Read(ref log.Ring)))
                        {
                            continue;   // the ring grew while this was read: read the new one
                        }

                        // Overwritten by a later event (the ring went round past this reader), or never kept.
                        throw new SubscriberLaggedException(sessionId, next - 1);
                    }

                    next++;
                    yield return item;
                    continue;
                }

                Task wait;
                lock (log)
                {
                    if (Volatile.Read(ref log.Last) >= next)
                    {
                        continue;
                    }

                    log.Waiting ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = log.Waiting.Task;
                }

                await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            subscription.Leave();
            await subscription.Cancellation.DisposeAsync().ConfigureAwait(false);
        }
    }

    private IAsyncEnumerable<SessionEvent> SubscribeAll(CancellationToken cancellationToken)
    {
        var subscriber = new AllSessionsSubscriber(_options.SubscriberBufferSize);
        ImmutableInterlocked.Update(ref _allSessions, static (all, s) => all.Add(s), subscriber);
        subscriber.Cancellation = cancellationToken.Register(static state =>
        {
            var (hub, s) = ((SessionEventHub, AllSessionsSubscriber))state!;
            hub.RemoveAllSessions(s);
        }, (this, subscriber));
        return ReadAllAsync(subscriber, cancellationToken);
    }

    private void RemoveAllSessions(AllSessionsSubscriber subscriber) =>
        ImmutableInterlocked.Update(ref _allSessions, static (all, s) => all.Remove(s), subscriber);

    private async IAsyncEnumerable<SessionEvent> ReadAllAsync(AllSessionsSubscriber subscriber, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long? lastSequence = null;
        try
        {
            while (await subscriber.Channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (subscriber.Channel.Reader.TryRead(out var item))
                {
                    lastSequence = item.Sequence;
                    yield return item;
                }
            }

            // Completed only when the buffer overflowed: everything before the overflow has been read.
            throw new SubscriberLaggedException(sessionId: null, lastSequence);
        }
        finally
        {
            RemoveAllSessions(subscriber);
            await subscriber.Cancellation.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Forgets the logs of sessions idle for the retention that nobody follows.</summary>
    private void Sweep()
    {
        foreach (var (sessionId, log) in _logs)
        {
            lock (log)
            {
                if (log.Subscribers == 0 && _time.GetElapsedTime(log.LastPublishedAt) >= _options.Retention)
                {
                    log.Removed = true;
                    _logs.TryRemove(new KeyValuePair<string, SessionLog>(sessionId, log));
                }
            }
        }
    }

    /// <summary>
    /// One session's recent events. <see cref="Last"/>, <see cref="Ring"/> and its slots are written under the lock,
    /// read without it. The ring starts small and doubles up to the capacity, so a session with a few events holds little.
    /// </summary>
    private sealed class SessionLog(int capacity, long start, long createdAt)
    {
        private const int InitialSize = 64;

        public SessionEvent?[] Ring = new SessionEvent?[Math.Min(InitialSize, capacity)];

        public readonly int Capacity = capacity;

        /// <summary>The sequence before the log's first event.</summary>
        public readonly long Start = start;

        public long Last = start;

        public long LastPublishedAt = createdAt;

        public int Subscribers;

        public bool Removed;

        public TaskCompletionSource? Waiting;

        /// <summary>Doubles the ring (up to the capacity), keeping every event; called under the lock when it is full.</summary>
        public SessionEvent?[] Grow()
        {
            var old = Ring;
            var grown = new SessionEvent?[Math.Min(old.Length * 2, Capacity)];
            for (long sequence = Math.Max(Start + 1, Last - old.Length + 1); sequence <= Last; sequence++)
            {
                grown[sequence % grown.Length] = old[sequence % old.Length];
            }

            // Published before the next Last, so a reader that sees that Last sees this ring.
            Volatile.Write(ref Ring, grown);
            return grown;
        }
    }

    private sealed class SessionSubscription(SessionLog log, long next)
    {
        private int _left;

        public SessionLog Log { get; } = log;

        public long Next { get; } = next;

        public CancellationTokenRegistration Cancellation { get; set; }

        public void Leave()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                lock (Log)
                {
                    Log.Subscribers--;
                }
            }
        }
    }

    private sealed class AllSessionsSubscriber(int capacity)
    {
        public CancellationTokenRegistration Cancellation { get; set; }

        public Channel<SessionEvent> Channel { get; } = System.Threading.Channels.Channel.CreateBounded<SessionEvent>(
            new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = false, FullMode = BoundedChannelFullMode.Wait });

        public void Deliver(SessionEvent sessionEvent)
        {
            if (!Channel.Writer.TryWrite(sessionEvent))
            {
                // Full (the reader fell behind) or already completed: drop the subscriber, never wait for it.
                Channel.Writer.TryComplete();
            }
        }
    }
}
