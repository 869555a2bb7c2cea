using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentCore;

/// <summary>
/// The default <see cref="ISessionEvents"/>. Each session has a <see cref="SessionLog"/>: a ring of its last
/// <see cref="SessionEventsOptions.ReplayCapacity"/> events, numbered by <see cref="SessionEvent.Sequence"/>. A
/// subscriber of one session is a cursor into that ring, so publishing costs the same for one subscriber or a thousand
/// (write a slot, wake the waiting readers with one queued work item), a slow subscriber holds no memory of its own, and
/// replay after a reconnect is reading the ring from an older cursor. Subscribers of all sessions get a bounded channel each.
/// </summary>
/// <remarks>
/// <para>A running turn attaches its own stream (<see cref="AttachAsync"/>): every event of the session published while it
/// runs, a background title's included, goes to the turn's stream under the same lock that numbers it, so the caller's
/// stream is gap-free from the first event to <see cref="TurnCompleted"/>.</para>
/// <para>With an <see cref="ISessionEventRelay"/>, the events published while this instance runs a session's turn are also
/// handed to the relay, and a session with subscribers here is followed through it: events of turns running on other
/// instances are republished under their own sequences. A turn numbers on from the greatest of this log, the relay's last
/// stored sequence and the clock (microseconds since 1970), so sequences keep increasing across turns run on different
/// instances. Events raised outside a turn of this instance (a session created or renamed, a title that lands after the
/// turn) go through <see cref="PublishAsync"/>: the relay numbers them in the session's shared stream, atomically with
/// every other instance (or defers them to the turn another instance is running, which numbers them after its own), and
/// they reach subscribers here as relayed events do. Subscribers of all sessions also get the session-level events
/// (created, updated, deleted) of other instances' sessions (<see cref="ISessionEventRelay.FollowAllAsync"/>).</para>
/// </remarks>
internal sealed partial class SessionEventHub : ISessionEvents
{

    private readonly ConcurrentDictionary<string, SessionLog> _logs = new(StringComparer.Ordinal);
    // Copy on write: subscribing is rare, publishing is per streamed update, and enumerating the array allocates nothing.
    private ImmutableArray<AllSessionsSubscriber> _allSessions = [];
    private readonly TimeProvider _time;
    private readonly SessionEventsOptions _options;
    private readonly ISessionEventRelay? _relay;
    private readonly ILogger _logger;
    private readonly Lock _allSessionsGate = new();
    private CancellationTokenSource? _allSessionsFollower;
    private long _lastSweep;

    public SessionEventHub(TimeProvider time, IOptions<SessionEventsOptions> options, ISessionEventRelay? relay = null, ILogger<SessionEventHub>? logger = null)
    {
        _time = time;
        _options = options.Value;
        _options.Validate();
        _relay = relay;
        _logger = logger ?? NullLogger<SessionEventHub>.Instance;
        _lastSweep = time.GetTimestamp();
    }

    /// <summary>
    /// Assigns the event its <see cref="SessionEvent.Sequence"/> and delivers it; returns the same instance. With a relay,
    /// an event of a session this instance runs no turn of is handed to <see cref="PublishAsync"/> without waiting (its
    /// number is assigned later): outside a turn, await <see cref="PublishAsync"/> instead.
    /// </summary>
    public SessionEvent Publish(SessionEvent sessionEvent)
    {
        while (!TryPublish(_logs.GetOrAdd(sessionEvent.SessionId, static (_, hub) => hub.NewLog(), this), sessionEvent))
        {
            // The log was swept meanwhile: the next lookup adds a new one.
        }

        return sessionEvent;
    }

    /// <summary>
    /// <see cref="Publish"/> into <paramref name="log"/>, the event's session's log; false, with nothing done, when the log
    /// was removed (swept).
    /// </summary>
    private bool TryPublish(SessionLog log, SessionEvent sessionEvent)
    {
        TaskCompletionSource? waiting;
        lock (log.Gate)
        {
            if (log.Removed)
            {
                return false;
            }

            if (_relay is not null && log.Attached == 0)
            {
                _ = PublishOutsideTurnAsync(sessionEvent);
                return true;
            }

            sessionEvent.AssignSequence(log.Last + 1);
            waiting = Append(log, sessionEvent);
            if (_relay is not null)
            {
                _relay.Append(sessionEvent);
            }

            if (log.TurnStream is { } turn)
            {
                turn.TryWrite(sessionEvent);
                if (sessionEvent is TurnCompleted)
                {
                    log.TurnStream = null;   // the turn's stream ends with its TurnCompleted
                }
            }
        }

        Wake(waiting);
        return true;
    }

    /// <summary>
    /// Publishes an event that may be raised outside a turn of this instance (a session created, changed or deleted). Without
    /// a relay, or while this instance runs a turn of the session, the same as <see cref="Publish"/>. Otherwise the relay
    /// numbers and stores it, or defers it to the turn running on another instance (which numbers it after its own events);
    /// completes once that is done. A relay failure is logged and the event delivered here unnumbered.
    /// </summary>
    public ValueTask<SessionEvent> PublishAsync(SessionEvent sessionEvent)
    {
        if (_relay is not null && !(_logs.TryGetValue(sessionEvent.SessionId, out var log) && Volatile.Read(ref log.Attached) > 0))
        {
            // Attached just after this check: the relay defers it to this instance's turn, which numbers it at its end.
            return new ValueTask<SessionEvent>(PublishOutsideTurnAsync(sessionEvent));
        }

        return ValueTask.FromResult(Publish(sessionEvent));
    }

    /// <summary>
    /// Publishes an event of a session whose busy lock the caller holds outside a turn (a delete): numbered as a turn's
    /// events are, since no turn can be numbering the session meanwhile.
    /// </summary>
    public async ValueTask<SessionEvent> PublishHoldingLockAsync(SessionEvent sessionEvent)
    {
        var attachment = await AttachAsync(sessionEvent.SessionId, turnStream: null).ConfigureAwait(false);
        await using (attachment.ConfigureAwait(false))
        {
            return Publish(sessionEvent);
        }
    }

    private async Task<SessionEvent> PublishOutsideTurnAsync(SessionEvent sessionEvent)
    {
        long? sequence;
        try
        {
            sequence = await _relay!.PublishAsync(sessionEvent, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogRelayFailed(ex, sessionEvent.SessionId);
            DeliverToAll(sessionEvent);
            return sessionEvent;
        }

        if (sequence is not { } stored)
        {
            return sessionEvent;   // deferred: the instance running the session's turn numbers and delivers it
        }

        sessionEvent.AssignSequence(stored);
        if (_logs.TryGetValue(sessionEvent.SessionId, out var log))
        {
            lock (log.Gate)
            {
                if (log.Follower is not null)
                {
                    // Followed here: the follower reads it from the relay in sequence order, after what was stored before it.
                    return sessionEvent;
                }
            }
        }

        DeliverToAll(sessionEvent);
        return sessionEvent;
    }

    /// <summary>
    /// Attaches a running turn (or summary) of this instance to its session: from now until the returned handle is
    /// disposed, the session's events are numbered here (and relayed), and until its <see cref="TurnCompleted"/> each is
    /// also written to <paramref name="turnStream"/>. Dispose after the turn's last event and before releasing the
    /// session's lock: with a relay, disposing waits until the turn's events are stored.
    /// </summary>
    public async ValueTask<Attachment> AttachAsync(string sessionId, ChannelWriter<SessionEvent>? turnStream, CancellationToken cancellationToken = default)
    {
        SessionLog log;
        while (true)
        {
            log = _logs.GetOrAdd(sessionId, static (_, hub) => hub.NewLog(), this);
            lock (log.Gate)
            {
                if (log.Removed)
                {
                    continue;
                }

                log.Attached++;   // keeps the log from being swept while the turn runs
                break;
            }
        }

        if (_relay is not null)
        {
            long floor = _time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
            try
            {
                bool followed;
                lock (log.Gate)
                {
                    followed = log.Follower is not null && log.Synced.Task.IsCompletedSuccessfully;
                }

                // From now until the detach, events raised for the session on other instances are deferred to this turn.
                if (await _relay.BeginTurnAsync(sessionId, cancellationToken).ConfigureAwait(false) is { } used)
                {
                    floor = Math.Max(floor, used);
                }

                if (followed)
                {
                    // Subscribers here follow the session: give them the end of the previous turn (run elsewhere) first.
                    await foreach (var sessionEvent in _relay.ReadAsync(sessionId, Volatile.Read(ref log.Last), cancellationToken).ConfigureAwait(false))
                    {
                        PublishRemote(log, sessionEvent);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The caller gave up before it had the attachment: end what was begun, or the session would stay counted as
                // in a turn here and its later events be numbered here, outside the relay's coordination.
                await DetachAsync(log, sessionId).ConfigureAwait(false);
                throw;
            }
            catch (Exception ex)
            {
                LogRelayFailed(ex, sessionId);
            }

            lock (log.Gate)
            {
                if (floor > log.Last)
                {
                    Jump(log, floor);
                }
            }
        }

        lock (log.Gate)
        {
            log.TurnStream = turnStream;
        }

        return new Attachment(this, log, sessionId);
    }

    private async ValueTask DetachAsync(SessionLog log, string sessionId)
    {
        long last;
        lock (log.Gate)
        {
            // Events published from now on go to the relay: deferred to this turn while it holds the numbering, numbered after it.
            log.TurnStream = null;
            log.Attached--;
            log.LastPublishedAt = _time.GetTimestamp();
            last = log.Last;
        }

        if (_relay is not null)
        {
            try
            {
                await _relay.FlushAsync(sessionId).ConfigureAwait(false);
                foreach (var deferred in await _relay.EndTurnAsync(sessionId, last).ConfigureAwait(false))
                {
                    PublishRemote(log, deferred);
                }
            }
            catch (Exception ex)
            {
                LogRelayFailed(ex, sessionId);
            }
        }
    }

    /// <summary>Republishes an event another instance numbered; one this log already has is skipped.</summary>
    private void PublishRemote(SessionLog log, SessionEvent sessionEvent)
    {
        TaskCompletionSource? waiting;
        lock (log.Gate)
        {
            if (log.Removed || sessionEvent.Sequence <= log.Last)
            {
                return;
            }

            waiting = Append(log, sessionEvent);
        }

        Wake(waiting);
    }

    /// <summary>
    /// Writes the event into the ring at the log's next index (slots are by index, not by sequence, so a log whose numbers
    /// jump keeps its last <see cref="SessionLog.Capacity"/> events all the same); under the log's lock. Returns the readers to wake.
    /// </summary>
    private TaskCompletionSource? Append(SessionLog log, SessionEvent sessionEvent)
    {
        var ring = log.Ring;
        if (log.Count >= ring.Length && ring.Length < log.Capacity)
        {
            ring = log.Grow();
        }

        ref var slot = ref ring[log.Count % ring.Length];
        if (slot is { } dropped)
        {
            log.DroppedLast = dropped.Sequence;
        }

        // The event's index, then the slot, then Count and Last: a reader that sees the new Count finds the event.
        if (!sessionEvent.TryClaimRingIndex(log.Count))
        {
            // Already in another ring (one event instance handed to two hubs by a relay): this ring gets a copy.
            sessionEvent = sessionEvent with { };
            sessionEvent.RingIndex = log.Count;
        }

        Volatile.Write(ref slot, sessionEvent);
        Volatile.Write(ref log.Last, sessionEvent.Sequence);
        Volatile.Write(ref log.Count, log.Count + 1);
        log.LastPublishedAt = _time.GetTimestamp();
        var waiting = log.Waiting;
        log.Waiting = null;

        // Under the log's lock, so subscribers of all sessions see a session's events in sequence order too.
        DeliverToAll(sessionEvent);
        return waiting;
    }

    /// <summary>Moves the log's last sequence forward to <paramref name="last"/> without an event; under the log's lock.</summary>
    private static void Jump(SessionLog log, long last) => Volatile.Write(ref log.Last, last);

    private void DeliverToAll(SessionEvent sessionEvent)
    {
        foreach (var subscriber in _allSessions)
        {
            subscriber.Deliver(sessionEvent);
        }
    }

    private static void Wake(TaskCompletionSource? waiting)
    {
        if (waiting is not null)
        {
            // One work item whatever the number of readers; it queues each reader's continuation in turn.
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.TrySetResult(), waiting, preferLocal: false);
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
            lock (log.Gate)
            {
                if (log.Removed)
                {
                    continue;
                }

                log.Subscribers++;
                var subscription = new SessionSubscription(log, afterSequence);
                if (log.Synced.Task.IsCompleted)
                {
                    subscription.Start(log, afterSequence, _relay is not null);
                }

                if (_relay is not null)
                {
                    if (afterSequence is { } from && !log.Synced.Task.IsCompleted)
                    {
                        log.FollowFrom = Math.Min(log.FollowFrom ?? from, from);
                    }

                    log.Follower ??= StartFollowing(sessionId, log);
                }

                // A caller that cancels before (or without) enumerating must not keep the log alive.
                subscription.Cancellation = cancellationToken.Register(static state => ((SessionSubscription)state!).Leave(), subscription);
                return ReadAsync(sessionId, subscription, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Follows a session through the relay while it has subscribers here: first finds where its stream stands (the last
    /// stored sequence, or the oldest one a subscriber asked to resume after), then republishes what other instances store.
    /// </summary>
    private CancellationTokenSource StartFollowing(string sessionId, SessionLog log)
    {
        var stop = new CancellationTokenSource();
        var synced = log.Synced;
        _ = Task.Run(async () =>
        {
            try
            {
                long? stored = await _relay!.GetLastSequenceAsync(sessionId, stop.Token).ConfigureAwait(false);
                long from;
                lock (log.Gate)
                {
                    long now = stored ?? log.Last;
                    long target = Math.Min(now, log.FollowFrom ?? now);
                    if (target > log.Last)
                    {
                        // Events up to the target are in the relay, not here: a resume before it is lagged.
                        Jump(log, target);
                        log.Floor = target;
                    }

                    log.LiveFrom = Math.Max(now, log.Last);
                    log.FollowFrom = null;
                    from = log.Last;
                }

                synced.TrySetResult();
                await foreach (var sessionEvent in _relay.FollowAsync(sessionId, from, stop.Token).ConfigureAwait(false))
                {
                    PublishRemote(log, sessionEvent);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                LogRelayFailed(ex, sessionId);
            }
            finally
            {
                lock (log.Gate)
                {
                    if (ReferenceEquals(log.Follower, stop))
                    {
                        // Failed while still wanted: subscribers waiting to start do so from what this log has.
                        log.Follower = null;
                        log.LiveFrom ??= log.Last;
                    }
                }

                synced.TrySetResult();
                stop.Dispose();
            }
        });
        return stop;
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
        // swept, or in a restarted process, continues above any sequence handed out before. With a relay, a log starts
        // unsynced: its follower finds where the session's stream stands, and a turn numbers on from the relay's last.
        long start = _relay is null ? _time.GetUtcNow().ToUnixTimeMilliseconds() * 1000 : 0;
        return new SessionLog(_options.ReplayCapacity, start, _time.GetTimestamp(), synced: _relay is null);
    }

    private static async IAsyncEnumerable<SessionEvent> ReadAsync(
        string sessionId, SessionSubscription subscription, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var log = subscription.Log;
        try
        {
            if (!subscription.Started)
            {
                // With a relay, subscribed before the follower knew where the session's stream stands.
                await log.Synced.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                lock (log.Gate)
                {
                    // "From now" is after what was stored when the log synced.
                    subscription.Start(log, subscription.After ?? log.LiveFrom, relayed: true);
                }
            }

            long next = subscription.NextIndex;
            long after = subscription.Cursor;
            if (subscription.Lagged)
            {
                throw new SubscriberLaggedException(sessionId, after);
            }

            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                long count = Volatile.Read(ref log.Count);
                if (next < count)
                {
                    var ring = Volatile.Read(ref log.Ring);
                    var slot = Volatile.Read(ref ring[next % ring.Length]);
                    if (slot is null || slot.RingIndex != next)
                    {
                        if (!ReferenceEquals(ring, Volatile.Read(ref log.Ring)))
                        {
                            continue;   // the ring grew while this was read: read the new one
                        }

                        // Overwritten by a later event: the ring went round past this reader.
                        throw new SubscriberLaggedException(sessionId, after);
                    }

                    var item = slot;
                    next++;
                    if (item.Sequence <= after)
                    {
                        continue;   // already had (a relayed stream may bring events from before a resume point)
                    }

                    after = item.Sequence;
                    yield return item;
                    continue;
                }

                Task wait;
                lock (log.Gate)
                {
                    if (Volatile.Read(ref log.Count) > next)
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
        if (_relay is not null)
        {
            lock (_allSessionsGate)
            {
                _allSessionsFollower ??= StartFollowingAll();
            }
        }

        subscriber.Cancellation = cancellationToken.Register(static state =>
        {
            var (hub, s) = ((SessionEventHub, AllSessionsSubscriber))state!;
            hub.RemoveAllSessions(s);
        }, (this, subscriber));
        return ReadAllAsync(subscriber, cancellationToken);
    }

    private void RemoveAllSessions(AllSessionsSubscriber subscriber)
    {
        ImmutableInterlocked.Update(ref _allSessions, static (all, s) => all.Remove(s), subscriber);
        if (_relay is not null)
        {
            lock (_allSessionsGate)
            {
                if (_allSessions.IsEmpty && _allSessionsFollower is { } follower)
                {
                    _allSessionsFollower = null;
                    follower.Cancel();
                }
            }
        }
    }

    /// <summary>
    /// While this instance has subscribers of all sessions, delivers them the session-level events (created, updated, deleted)
    /// other instances store, except those of sessions followed here, which their follower delivers in order.
    /// </summary>
    private CancellationTokenSource StartFollowingAll()
    {
        var stop = new CancellationTokenSource();
        // Asked for now, so a relay that registers on the call sees what is stored from then on.
        var stored = _relay!.FollowAllAsync(stop.Token);
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var sessionEvent in stored.ConfigureAwait(false))
                {
                    bool followed = false;
                    if (_logs.TryGetValue(sessionEvent.SessionId, out var log))
                    {
                        lock (log.Gate)
                        {
                            followed = log.Follower is not null;
                        }
                    }

                    if (!followed)
                    {
                        DeliverToAll(sessionEvent);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                LogFollowAllFailed(ex);
            }
            finally
            {
                lock (_allSessionsGate)
                {
                    if (ReferenceEquals(_allSessionsFollower, stop))
                    {
                        _allSessionsFollower = null;   // failed: the next subscriber of all sessions starts again
                    }
                }

                stop.Dispose();
            }
        });
        return stop;
    }

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
            lock (log.Gate)
            {
                if (log.Subscribers == 0 && log.Attached == 0 && _time.GetElapsedTime(log.LastPublishedAt) >= _options.Retention)
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
    internal sealed class SessionLog(int capacity, long start, long createdAt, bool synced)
    {
        private const int InitialSize = 64;

        /// <summary>Guards the log's fields (a <see cref="Lock"/>: entering it never inflates the object's header into a sync block).</summary>
        public readonly Lock Gate = new();

        public SessionEvent?[] Ring = new SessionEvent?[Math.Min(InitialSize, capacity)];

        public readonly int Capacity = capacity;

        /// <summary>The sequence of the last event (or the last number skipped when a turn started above it).</summary>
        public long Last = start;

        /// <summary>The number of events written to the ring: the index the next one takes.</summary>
        public long Count;

        /// <summary>The sequence of the newest event the ring no longer holds; null while it holds them all.</summary>
        public long? DroppedLast;

        /// <summary>The log knows nothing of events up to this sequence (it was created, or synced, after them).</summary>
        public long Floor = start;

        public long LastPublishedAt = createdAt;

        public int Subscribers;

        /// <summary>Running turns of this instance attached to the session (one, under the session's lock).</summary>
        public int Attached;

        /// <summary>The running turn's own stream, until its <see cref="TurnCompleted"/>.</summary>
        public ChannelWriter<SessionEvent>? TurnStream;

        public bool Removed;

        public TaskCompletionSource? Waiting;

        /// <summary>With a relay: completed once the follower knows where the session's stream stands.</summary>
        public TaskCompletionSource Synced = NewSynced(synced);

        /// <summary>With a relay: the oldest sequence a subscriber asked to resume after before the log was synced.</summary>
        public long? FollowFrom;

        /// <summary>With a relay: the last sequence stored when the log was synced; "from now" starts after it.</summary>
        public long? LiveFrom;

        /// <summary>With a relay: stops the task following the session while it has subscribers here.</summary>
        public CancellationTokenSource? Follower;

        /// <summary>Doubles the ring (up to the capacity), keeping every event; called under the lock when it is full.</summary>
        public SessionEvent?[] Grow()
        {
            var old = Ring;
            var grown = new SessionEvent?[Math.Min(old.Length * 2, Capacity)];
            for (long index = Math.Max(0, Count - old.Length); index < Count; index++)
            {
                grown[index % grown.Length] = old[index % old.Length];
            }

            // Published before the next Count, so a reader that sees that Count sees this ring.
            Volatile.Write(ref Ring, grown);
            return grown;
        }

        public static TaskCompletionSource NewSynced(bool synced)
        {
            var source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (synced)
            {
                source.TrySetResult();
            }

            return source;
        }
    }

    /// <summary>
    /// A turn's hold on its session's log (see <see cref="AttachAsync"/>): disposing it detaches the turn. The turn publishes
    /// its events through it, into the log it holds, without looking the session up for each event.
    /// </summary>
    internal sealed class Attachment(SessionEventHub hub, SessionLog log, string sessionId) : IAsyncDisposable
    {
        private int _disposed;

        /// <summary>The same as <see cref="SessionEventHub.Publish"/> for an event of the attached session.</summary>
        /// <param name="sessionEvent">An event of the attached session.</param>
        /// <returns>The same event, numbered.</returns>
        public SessionEvent Publish(SessionEvent sessionEvent)
        {
            // An event of another session goes through the hub, to that session's log and numbering.
            return string.Equals(sessionEvent.SessionId, sessionId, StringComparison.Ordinal) && hub.TryPublish(log, sessionEvent)
                ? sessionEvent
                : hub.Publish(sessionEvent);
        }

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _disposed, 1) == 0 ? hub.DetachAsync(log, sessionId) : ValueTask.CompletedTask;
    }

    private sealed class SessionSubscription(SessionLog log, long? after)
    {
        private int _left;

        public SessionLog Log { get; } = log;

        /// <summary>The sequence the subscriber resumes after; null: from now.</summary>
        public long? After { get; } = after;

        public bool Started { get; private set; }

        /// <summary>Events after the cursor are no longer kept: the first read throws <see cref="SubscriberLaggedException"/>.</summary>
        public bool Lagged { get; private set; }

        /// <summary>The index in the log's ring of the first event to read.</summary>
        public long NextIndex { get; private set; }

        /// <summary>The sequence of the last event the subscriber has: events up to it are skipped.</summary>
        public long Cursor { get; private set; }

        /// <summary>
        /// Places the subscriber after <paramref name="after"/> (null: after the log's last event); under the log's lock.
        /// When events after it are no longer kept, the first read throws <see cref="SubscriberLaggedException"/>.
        /// </summary>
        public void Start(SessionLog log, long? after, bool relayed)
        {
            Started = true;
            long last = log.Last;
            // Without a relay, a sequence beyond the last (one this process never published) also means "from now".
            Cursor = after is { } a && (a < last || relayed) ? a : last;
            var ring = log.Ring;
            long oldest = Math.Max(0, log.Count - ring.Length);
            long index = log.Count;
            while (index > oldest && ring[(index - 1) % ring.Length]!.Sequence > Cursor)
            {
                index--;
            }

            NextIndex = index;
            // An event after the cursor is gone, or was never here.
            Lagged = Cursor < log.Floor || (index == oldest && log.DroppedLast is { } dropped && dropped > Cursor);
        }

        public CancellationTokenRegistration Cancellation { get; set; }

        public void Leave()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                lock (Log.Gate)
                {
                    Log.Subscribers--;
                    if (Log.Subscribers == 0 && Log.Follower is { } follower)
                    {
                        // Nobody follows the session here any more: stop reading it, and find where it stands again next time.
                        Log.Follower = null;
                        Log.LiveFrom = null;
                        Log.Synced = SessionLog.NewSynced(synced: false);
                        follower.Cancel();
                    }
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the event relay failed; events of the session may not reach other instances")]
    private partial void LogRelayFailed(Exception exception, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Following other instances' session changes through the event relay failed; subscribers of all sessions see this instance's only")]
    private partial void LogFollowAllFailed(Exception exception);
}
