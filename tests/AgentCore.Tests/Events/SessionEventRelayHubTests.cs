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

    private static SessionEventHub Hub(MemoryRelay relay) => new(TimeProvider.System, Options.Create(new SessionEventsOptions()), relay);

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
    public async Task Publish_OutsideATurnWithRelay_ReachesAllSessionsSubscribersUnnumbered()
    {
        var relay = new MemoryRelay();
        var hub = Hub(relay);
        using var stop = new CancellationTokenSource();
        var all = hub.SubscribeAsync(null, stop.Token).GetAsyncEnumerator(stop.Token);

        var renamed = hub.Publish(new SessionDeleted(One));

        (await all.MoveNextAsync()).Should().BeTrue();
        all.Current.Should().BeSameAs(renamed);
        renamed.Sequence.Should().Be(0);
        relay.Stored.Should().BeEmpty("only a turn's events are relayed");
        await stop.CancelAsync();
    }

    /// <summary>An in-memory relay: appends are stored at once; followers are woken by each append.</summary>
    private sealed class MemoryRelay : ISessionEventRelay
    {
        private readonly Lock _gate = new();
        private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<SessionEvent> Stored { get; } = [];

        public TaskCompletionSource Followed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Append(SessionEvent sessionEvent)
        {
            TaskCompletionSource appended;
            lock (_gate)
            {
                Stored.Add(sessionEvent);
                appended = _appended;
                _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            appended.TrySetResult();
        }

        public Task FlushAsync(string sessionId, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<long?> GetLastSequenceAsync(string sessionId, CancellationToken cancellationToken = default)
        {
            lock (_gate)
            {
                return Task.FromResult(Stored.Where(e => e.SessionId == sessionId).Select(static e => (long?)e.Sequence).LastOrDefault());
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
            Followed.TrySetResult();
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
            lock (_gate)
            {
                return (Stored.Where(e => e.SessionId == sessionId && e.Sequence > afterSequence).ToList(), _appended.Task);
            }
        }
    }
}
