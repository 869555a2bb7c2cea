using System.Runtime.CompilerServices;
using System.Threading.Channels;
using FluentAssertions;
using Microsoft.Extensions.Options;
using NUnit.Framework;

namespace AgentCore.Tests.Events;

/// <summary>
/// <see cref="SessionEventHub"/> with an <see cref="ISessionEventRelay"/>: two hubs (two instances) sharing one in-memory
/// relay, which stores what it is given at once and wakes followers, as the PostgreSQL relay does through its table.
/// </summary>
public sealed class SessionEventRelayHubTests
{
    private static readonly string One = Identifier.Create(IdKind.Session, TimeProvider.System);

    private static SessionEventHub Hub(MemoryRelay relay) => new(TimeProvider.System, Options.Create(new SessionEventsOptions()), relay.Instance());

    private static SessionInfo Info(string title) =>
        new() { Id = One, Title = title, CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch };

    private static TextDelta Delta(int i) => new(One, "msg", "prt", i.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static async Task<List<SessionEvent>> TakeAsync(IAsyncEnumerator<SessionEvent> events, int count)
    {
        var taken = new List<SessionEvent>();
        while (taken.Count < count)
        {
            (await events.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30))).Should().BeTrue();
            taken.Add(events.Current);
        }

        return taken;
    }

    [Test]
    public async Task SubscribeAsync_TurnOnAnotherHub_ReceivesItsEventsInOrderUnderTheirSequences()
    {
        var relay = new MemoryRelay();
        var a = Hub(relay);
        var b = Hub(relay);
        using var stop = new CancellationTokenSource();
        var following = b.SubscribeAsync(One, stop.Token).GetAsyncEnumerator(stop.Token);
        var first = following.MoveNextAsync();   // starts following; nothing is stored yet
        await relay.Followed.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var turn = Channel.CreateUnbounded<SessionEvent>();
        var attachment = await a.AttachAsync(One, turn.Writer);
        var published = Enumerable.Range(0, 5).Select(i => a.Publish(Delta(i))).ToList();
        await attachment.DisposeAsync();

        (await first.AsTask().WaitAsync(TimeSpan.FromSeconds(30))).Should().BeTrue();
        var received = new List<SessionEvent> { following.Current };
        received.AddRange(await TakeAsync(following, 4));
        received.Select(static e => e.Sequence).Should().Equal(published.Select(static e => e.Sequence));
        received.Cast<TextDelta>().Select(static e => e.Text).Should().Equal("0", "1", "2", "3", "4");
        published.Select(static e => e.Sequence).Should().Equal(Enumerable.Range(0, 5).Select(i => published[0].Sequence + i));
        await stop.CancelAsync();
    }

    [Test]
    public async Task SubscribeAsync_AfterSequenceSeenOnAnotherHub_ReplaysTheRestOnce()
    {
        var relay = new MemoryRelay();
        var a = Hub(relay);
        var b = Hub(relay);
        await using (await a.AttachAsync(One, turnStream: null))
        {
            for (int i = 0; i < 6; i++)
            {
                a.Publish(Delta(i));
            }
        }

        long seen = relay.Stored[1].Sequence;
        using var stop = new CancellationTokenSource();
        var resumed = b.SubscribeAsync(One, seen, stop.Token).GetAsyncEnumerator(stop.Token);

        var replayed = await TakeAsync(resumed, 4);

        replayed.Select(static e => e.Sequence).Should().Equal(relay.Stored.Skip(2).Select(static e => e.Sequence));
        await stop.CancelAsync();
    }

    [Test]
    public async Task AttachAsync_TurnsOnAlternatingHubs_SequencesKeepIncreasingAndEachTurnIsConsecutive()
    {
        var relay = new MemoryRelay();
        var hubs = new[] { Hub(relay), Hub(relay) };
        var turns = new List<List<long>>();
        for (int t = 0; t < 4; t++)
        {
            var hub = hubs[t % 2];
            await using (await hub.AttachAsync(One, turnStream: null))
            {
                turns.Add(Enumerable.Range(0, 3).Select(i => hub.Publish(Delta(i)).Sequence).ToList());
            }
        }

        var all = turns.SelectMany(static t => t).ToList();
        all.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        turns.Should().OnlyContain(static t => t[1] == t[0] + 1 && t[2] == t[0] + 2);
        relay.Stored.Select(static e => e.Sequence).Should().Equal(all);
    }

    [Test]
    public async Task PublishAsync_OutsideATurnWithRelay_NumberedAfterTheTurnAndReplayedOnAnotherHub()
    {
        var relay = new MemoryRelay();
        var a = Hub(relay);
        var b = Hub(relay);
        long last;
        await using (await a.AttachAsync(One, turnStream: null))
        {
            last = Enumerable.Range(0, 3).Select(i => a.Publish(Delta(i))).Last().Sequence;
        }

        var renamed = await a.PublishAsync(new SessionUpdated(One, Info("renamed")));
        var deleted = await a.PublishAsync(new SessionDeleted(One));
        using var stop = new CancellationTokenSource();
        var resumed = b.SubscribeAsync(One, last, stop.Token).GetAsyncEnumerator(stop.Token);

        renamed.Sequence.Should().Be(last + 1);
        deleted.Sequence.Should().Be(last + 2);
        (await TakeAsync(resumed, 2)).Select(static e => (e.Sequence, e.GetType())).Should().Equal(
            (last + 1, typeof(SessionUpdated)), (last + 2, typeof(SessionDeleted)));
        await stop.CancelAsync();
    }

    [Test]
    public async Task PublishAsync_WhileAnotherHubRunsATurn_DeferredAndNumberedRightAfterTheTurn()
    {
        var relay = new MemoryRelay();
        var a = Hub(relay);
        var b = Hub(relay);
        using var stop = new CancellationTokenSource();
        var all = b.SubscribeAsync(null, stop.Token).GetAsyncEnumerator(stop.Token);
        await relay.FollowingAll.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var turn = Channel.CreateUnbounded<SessionEvent>();
        var attachment = await a.AttachAsync(One, turn.Writer);
        var before = a.Publish(Delta(0));

        var titled = await b.PublishAsync(new SessionUpdated(One, Info("late title")));
        var after = a.Publish(Delta(1));
        await attachment.DisposeAsync();

        titled.Sequence.Should().Be(0, "a turn on the other hub numbers the session: the event waits for its end");
        after.Sequence.Should().Be(before.Sequence + 1, "the turn stays consecutive");
        var stored = relay.Stored.Where(static e => e.SessionId == One).ToList();
        stored.Select(static e => e.Sequence).Should().Equal(Enumerable.Range(0, 3).Select(i => before.Sequence + i));
        stored[^1].Should().BeOfType<SessionUpdated>().Which.Session.Title.Should().Be("late title");
        (await TakeAsync(all, 1)).Single().Should().BeOfType<SessionUpdated>().Which.Sequence.Should().Be(before.Sequence + 2,
            "b's subscribers of all sessions get it once the turn numbered it");
        await stop.CancelAsync();
    }

    [Test]
    public async Task SubscribeAsync_AllSessionsWithRelay_ReceivesSessionsCreatedAndDeletedOnAnotherHub()
    {
        var relay = new MemoryRelay();
        var a = Hub(relay);
        var b = Hub(relay);
        using var stop = new CancellationTokenSource();
        var all = b.SubscribeAsync(null, stop.Token).GetAsyncEnumerator(stop.Token);
        var first = all.MoveNextAsync();
        await relay.FollowingAll.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var created = await a.PublishAsync(new SessionCreated(One, Info("new")));
        var deleted = await a.PublishAsync(new SessionDeleted(One));

        (await first.AsTask().WaitAsync(TimeSpan.FromSeconds(30))).Should().BeTrue();
        var seen = new List<SessionEvent> { all.Current };
        seen.AddRange(await TakeAsync(all, 1));
        seen.Select(static e => (e.Sequence, e.GetType())).Should().Equal((created.Sequence, typeof(SessionCreated)), (deleted.Sequence, typeof(SessionDeleted)));
        created.Sequence.Should().BePositive();
        await stop.CancelAsync();
    }

    [Test]
    public async Task AttachAsync_CancelledWhileTheRelayBegins_LaterEventsNumberedByTheRelay()
    {
        var relay = new MemoryRelay { BeginGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var a = Hub(relay);
        using var cancel = new CancellationTokenSource();
        var attaching = a.AttachAsync(One, turnStream: null, cancel.Token);
        await cancel.CancelAsync();
        await FluentActions.Awaiting(() => attaching.AsTask()).Should().ThrowAsync<OperationCanceledException>();
        relay.BeginGate.SetResult();

        var renamed = await a.PublishAsync(new SessionUpdated(One, Info("renamed")));

        relay.OutsideTurnPublished.Should().Be(1, "the session is not in a turn here: the relay numbers what is raised outside one");
        renamed.Sequence.Should().BePositive();
    }

    /// <summary>
    /// An in-memory relay shared by the hubs (one <see cref="Instance"/> each): appends are stored at once; followers are woken
    /// by each store. Outside a turn it numbers as the PostgreSQL relay does: above the last number, or queued for the turn
    /// that owns the session's numbering, which numbers the queue at its end.
    /// </summary>
    private sealed class MemoryRelay
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<string, string> _owners = new(StringComparer.Ordinal);
        private readonly Dictionary<string, long> _last = new(StringComparer.Ordinal);
        private readonly List<SessionEvent> _queue = [];
        private readonly List<(SessionEvent Event, string DeliveredBy)> _outside = [];
        private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _instances;
        private int _outsideTurnPublished;

        public List<SessionEvent> Stored { get; } = [];

        /// <summary>When set, <see cref="ISessionEventRelay.BeginTurnAsync"/> waits for it (or its token) before it takes the numbering.</summary>
        public TaskCompletionSource? BeginGate { get; init; }

        /// <summary>How many events were given to <see cref="ISessionEventRelay.PublishAsync"/>.</summary>
        public int OutsideTurnPublished => Volatile.Read(ref _outsideTurnPublished);

        public TaskCompletionSource Followed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completed once an instance follows the events of all sessions.</summary>
        public TaskCompletionSource FollowingAll { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ISessionEventRelay Instance() => new View(this, "instance-" + Interlocked.Increment(ref _instances));

        private void Store(IEnumerable<SessionEvent> events)
        {
            TaskCompletionSource appended;
            lock (_gate)
            {
                Stored.AddRange(events);
                appended = _appended;
                _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            appended.TrySetResult();
        }

        /// <summary>Numbers the session's queue, then <paramref name="extra"/>, after <paramref name="after"/>; under the lock.</summary>
        private List<SessionEvent> NumberQueue(string sessionId, long after, string deliveredBy, SessionEvent? extra = null)
        {
            var numbered = _queue.Where(e => e.SessionId == sessionId).Concat(extra is null ? [] : [extra])
                .Select((e, i) => e with { Sequence = after + i + 1 }).ToList();
            _queue.RemoveAll(e => e.SessionId == sessionId);
            _outside.AddRange(numbered.Select(e => (e, deliveredBy)));
            _last[sessionId] = after + numbered.Count;
            return numbered;
        }

        private long LastOf(string sessionId) =>
            Math.Max(_last.GetValueOrDefault(sessionId), Stored.Where(e => e.SessionId == sessionId).Select(static e => e.Sequence).DefaultIfEmpty().Max());

        private sealed class View(MemoryRelay relay, string name) : ISessionEventRelay
        {
            public void Append(SessionEvent sessionEvent) => relay.Store([sessionEvent]);

            public Task FlushAsync(string sessionId, CancellationToken cancellationToken = default) => Task.CompletedTask;

            public async Task<long?> BeginTurnAsync(string sessionId, CancellationToken cancellationToken = default)
            {
                if (relay.BeginGate is { } gate)
                {
                    await gate.Task.WaitAsync(cancellationToken);
                }

                lock (relay._gate)
                {
                    relay._owners[sessionId] = name;
                    return relay.LastOf(sessionId);
                }
            }

            public Task<IReadOnlyList<SessionEvent>> EndTurnAsync(string sessionId, long lastSequence, CancellationToken cancellationToken = default)
            {
                List<SessionEvent> numbered;
                lock (relay._gate)
                {
                    relay._owners.Remove(sessionId);
                    numbered = relay.NumberQueue(sessionId, Math.Max(relay.LastOf(sessionId), lastSequence), name);
                }

                relay.Store(numbered);
                return Task.FromResult<IReadOnlyList<SessionEvent>>(numbered);
            }

            public Task<long?> PublishAsync(SessionEvent sessionEvent, CancellationToken cancellationToken = default)
            {
                Interlocked.Increment(ref relay._outsideTurnPublished);
                List<SessionEvent> numbered;
                lock (relay._gate)
                {
                    if (relay._owners.ContainsKey(sessionEvent.SessionId))
                    {
                        relay._queue.Add(sessionEvent);
                        return Task.FromResult<long?>(null);
                    }

                    numbered = relay.NumberQueue(sessionEvent.SessionId, relay.LastOf(sessionEvent.SessionId), name, sessionEvent);
                }

                relay.Store(numbered);
                return Task.FromResult<long?>(numbered[^1].Sequence);
            }

            public async IAsyncEnumerable<SessionEvent> FollowAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
            {
                int next;
                lock (relay._gate)
                {
                    next = relay._outside.Count;
                }

                relay.FollowingAll.TrySetResult();
                while (true)
                {
                    List<SessionEvent> events;
                    Task appended;
                    lock (relay._gate)
                    {
                        events = [.. relay._outside.Skip(next).Where(o => o.DeliveredBy != name).Select(static o => o.Event)];
                        next = relay._outside.Count;
                        appended = relay._appended.Task;
                    }

                    foreach (var e in events)
                    {
                        yield return e;
                    }

                    await appended.WaitAsync(cancellationToken);
                }
            }

            public Task<long?> GetLastSequenceAsync(string sessionId, CancellationToken cancellationToken = default)
            {
                lock (relay._gate)
                {
                    return Task.FromResult(relay.Stored.Where(e => e.SessionId == sessionId).Select(static e => (long?)e.Sequence).LastOrDefault());
                }
            }

            public async IAsyncEnumerable<SessionEvent> ReadAsync(string sessionId, long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken = default)
            {
                await Task.Yield();
                foreach (var e in Snapshot(sessionId, afterSequence).Events)
                {
                    yield return e;
                }
            }

            public async IAsyncEnumerable<SessionEvent> FollowAsync(string sessionId, long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken = default)
            {
                relay.Followed.TrySetResult();
                while (true)
                {
                    var (events, appended) = Snapshot(sessionId, afterSequence);
                    foreach (var e in events)
                    {
                        afterSequence = e.Sequence;
                        yield return e;
                    }

                    await appended.WaitAsync(cancellationToken);
                }
            }

            private (List<SessionEvent> Events, Task Appended) Snapshot(string sessionId, long afterSequence)
            {
                lock (relay._gate)
                {
                    return ([.. relay.Stored.Where(e => e.SessionId == sessionId && e.Sequence > afterSequence).OrderBy(static e => e.Sequence)], relay._appended.Task);
                }
            }
        }
    }
}
