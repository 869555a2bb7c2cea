using AgentCore.Testing;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;

namespace AgentCore.Tests.Events;

/// <summary>Sequences, replay after a reconnect, and bounded buffers of <see cref="SessionEventHub"/>.</summary>
public sealed class SessionEventHubTests
{
    private static readonly string One = Identifier.Create(IdKind.Session, TimeProvider.System);
    private static readonly string Two = Identifier.Create(IdKind.Session, TimeProvider.System);

    private static SessionEventHub Hub(FakeTimeProvider? time = null, int replayCapacity = 4096, int bufferSize = 4096, TimeSpan? retention = null) =>
        new(time ?? new FakeTimeProvider(), Options.Create(new SessionEventsOptions
        {
            ReplayCapacity = replayCapacity,
            SubscriberBufferSize = bufferSize,
            Retention = retention ?? TimeSpan.FromMinutes(5),
        }));

    private static TextDelta Delta(string sessionId, int i) => new(sessionId, "msg", "prt", i.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Test]
    public void Publish_EventsOfTwoSessions_EachSessionNumberedWithoutGaps()
    {
        var hub = Hub();

        var events = Enumerable.Range(0, 10).Select(i => hub.Publish(Delta(i % 2 == 0 ? One : Two, i))).ToList();

        foreach (var session in new[] { One, Two })
        {
            var sequences = events.Where(e => e.SessionId == session).Select(e => e.Sequence).ToList();
            sequences[0].Should().BePositive();
            sequences.Should().Equal(Enumerable.Range(0, 5).Select(i => sequences[0] + i));
        }
    }

    [Test]
    public async Task AttachmentPublish_EventOfAnotherSession_NumberedAndReplayedInThatSession()
    {
        var hub = Hub();
        var two = hub.Publish(Delta(Two, 0));
        var attachment = await hub.AttachAsync(One, turnStream: null);

        var own = attachment.Publish(Delta(One, 1));
        var other = attachment.Publish(Delta(Two, 2));
        await attachment.DisposeAsync();

        other.Sequence.Should().Be(two.Sequence + 1);
        own.Sequence.Should().BePositive();
        using var stop = new CancellationTokenSource();
        var replay = hub.SubscribeAsync(Two, two.Sequence, stop.Token).GetAsyncEnumerator(stop.Token);
        (await replay.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30))).Should().BeTrue();
        replay.Current.Should().BeSameAs(other);
        await stop.CancelAsync();
        await replay.DisposeAsync();
    }

    [Test]
    public async Task SubscribeAsync_AfterSequence_ReplaysMissedEventsThenContinuesLive()
    {
        var hub = Hub();
        var published = Enumerable.Range(0, 5).Select(i => hub.Publish(Delta(One, i))).ToList();
        using var stop = new CancellationTokenSource();

        var subscription = hub.SubscribeAsync(One, published[1].Sequence, stop.Token).GetAsyncEnumerator(stop.Token);
        var live = hub.Publish(Delta(One, 5));

        var seen = new List<SessionEvent>();
        for (int i = 0; i < 4; i++)
        {
            (await subscription.MoveNextAsync()).Should().BeTrue();
            seen.Add(subscription.Current);
        }

        seen.Should().Equal(published[2], published[3], published[4], live);
        await stop.CancelAsync();
        await FluentActions.Awaiting(async () => await subscription.MoveNextAsync()).Should().ThrowAsync<OperationCanceledException>();
        await subscription.DisposeAsync();
    }

    [Test]
    public async Task SubscribeAsync_NoAfterSequence_StartsFromNow()
    {
        var hub = Hub();
        hub.Publish(Delta(One, 0));
        using var stop = new CancellationTokenSource();

        var subscription = hub.SubscribeAsync(One, stop.Token).GetAsyncEnumerator(stop.Token);
        var live = hub.Publish(Delta(One, 1));

        (await subscription.MoveNextAsync()).Should().BeTrue();
        subscription.Current.Should().BeSameAs(live);
        await stop.CancelAsync();
        await subscription.DisposeAsync();
    }

    [Test]
    public async Task SubscribeAsync_AfterSequenceBeyondTheLast_StartsFromNow()
    {
        var hub = Hub();
        var last = hub.Publish(Delta(One, 0));
        using var stop = new CancellationTokenSource();

        var subscription = hub.SubscribeAsync(One, last.Sequence + 1000, stop.Token).GetAsyncEnumerator(stop.Token);
        var live = hub.Publish(Delta(One, 1));

        (await subscription.MoveNextAsync()).Should().BeTrue();
        subscription.Current.Should().BeSameAs(live);
        await stop.CancelAsync();
        await subscription.DisposeAsync();
    }

    [Test]
    public async Task SubscribeAsync_WhileManyEventsArePublished_EverySubscriberGetsEachEventAfterItsSequenceOnceInOrder()
    {
        // The ring starts small and grows while readers read it; it never wraps here, so no reader may lag.
        const int Capacity = 1 << 20;
        var hub = Hub(replayCapacity: Capacity);
        var first = hub.Publish(Delta(One, -1));
        long lastPublished = first.Sequence;
        bool joined = false;
        using var stop = new CancellationTokenSource();

        // Publishes at least 20 000 events, and goes on until every subscriber has joined.
        var publisher = Task.Run(() =>
        {
            for (int i = 0; (i < 20_000 || !Volatile.Read(ref joined)) && i < Capacity - 10; i++)
            {
                Volatile.Write(ref lastPublished, hub.Publish(Delta(One, i)).Sequence);
            }
        });

        // Subscribers join while the publisher runs, each resuming from the last sequence it saw published (or from now).
        var readers = new List<Task<(long After, List<long> Seen)>>();
        for (int r = 0; r < 40; r++)
        {
            long after = Volatile.Read(ref lastPublished);
            bool resume = r % 2 == 0;
            var subscription = resume ? hub.SubscribeAsync(One, after, stop.Token) : hub.SubscribeAsync(One, stop.Token);
            readers.Add(Task.Run(async () =>
            {
                var seen = new List<long>();
                await foreach (var e in subscription)
                {
                    seen.Add(e.Sequence);
                    if (e is TextDelta { Text: "end" })
                    {
                        break;
                    }
                }

                return (resume ? after : seen[0] - 1, seen);
            }));
            await Task.Yield();
        }

        Volatile.Write(ref joined, true);
        await publisher;
        var end = hub.Publish(new TextDelta(One, "msg", "prt", "end"));
        var results = await Task.WhenAll(readers);

        end.Sequence.Should().BeGreaterThan(first.Sequence + 20_000);
        foreach (var (after, seen) in results)
        {
            seen.Should().Equal(Enumerable.Range(1, (int)(end.Sequence - after)).Select(i => after + i));
        }

        results.Where((_, i) => i % 2 == 0).Should().OnlyContain(r => r.After >= first.Sequence);
    }

    [Test]
    public async Task SubscribeAsync_ReaderFallsBehindTheRing_ThrowsLaggedWithLastDeliveredSequence()
    {
        var hub = Hub(replayCapacity: 8);
        using var stop = new CancellationTokenSource();
        var subscription = hub.SubscribeAsync(One, stop.Token).GetAsyncEnumerator(stop.Token);
        var published = Enumerable.Range(0, 3).Select(i => hub.Publish(Delta(One, i))).ToList();
        for (int i = 0; i < 3; i++)
        {
            (await subscription.MoveNextAsync()).Should().BeTrue();
        }

        // The turn is never held up by the reader: twenty more events while it reads nothing.
        var later = Enumerable.Range(3, 20).Select(i => hub.Publish(Delta(One, i))).ToList();

        var lagged = (await FluentActions.Awaiting(async () => await subscription.MoveNextAsync())
            .Should().ThrowAsync<SubscriberLaggedException>()).Which;
        lagged.SessionId.Should().Be(One);
        lagged.LastSequence.Should().Be(published[2].Sequence);
        lagged.Message.Should().Contain(One).And.Contain(published[2].Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await subscription.DisposeAsync();

        // Resuming from there is impossible (those events are gone); resuming from a kept one works.
        await FluentActions.Awaiting(async () => await hub.SubscribeAsync(One, lagged.LastSequence, stop.Token).GetAsyncEnumerator(stop.Token).MoveNextAsync())
            .Should().ThrowAsync<SubscriberLaggedException>();
        var resumed = hub.SubscribeAsync(One, later[^3].Sequence, stop.Token).GetAsyncEnumerator(stop.Token);
        (await resumed.MoveNextAsync()).Should().BeTrue();
        resumed.Current.Should().BeSameAs(later[^2]);
        (await resumed.MoveNextAsync()).Should().BeTrue();
        resumed.Current.Should().BeSameAs(later[^1]);
        await stop.CancelAsync();
        await resumed.DisposeAsync();
    }

    [Test]
    public async Task SubscribeAsync_AllSessionsBufferOverflows_DeliversTheBufferThenThrowsLagged()
    {
        var hub = Hub(bufferSize: 4);
        using var stop = new CancellationTokenSource();
        var subscription = hub.SubscribeAsync(cancellationToken: stop.Token).GetAsyncEnumerator(stop.Token);

        var published = Enumerable.Range(0, 10).Select(i => hub.Publish(Delta(i % 2 == 0 ? One : Two, i))).ToList();

        var seen = new List<SessionEvent>();
        var read = async () =>
        {
            while (await subscription.MoveNextAsync())
            {
                seen.Add(subscription.Current);
            }
        };
        var lagged = (await read.Should().ThrowAsync<SubscriberLaggedException>()).Which;
        seen.Should().Equal(published.Take(4));
        lagged.SessionId.Should().BeNull();
        lagged.LastSequence.Should().Be(published[3].Sequence);
        await subscription.DisposeAsync();
    }

    [Test]
    public void SubscribeAsync_AfterSequenceWithoutSession_ThrowsArgumentException()
    {
        var hub = Hub();

        var act = () => hub.SubscribeAsync(null, 5);

        act.Should().Throw<ArgumentException>().WithParameterName("afterSequence").WithMessage("*5*");
    }

    [Test]
    public async Task SubscribeAsync_AfterRetentionWithoutSubscribers_ReplayIsGoneAndSequencesStillIncrease()
    {
        var time = new FakeTimeProvider();
        var hub = Hub(time, retention: TimeSpan.FromMinutes(1));
        var old = hub.Publish(Delta(One, 0));
        using var stop = new CancellationTokenSource();

        time.Advance(TimeSpan.FromMinutes(2));
        hub.Publish(Delta(Two, 0));   // a new session's log sweeps the idle ones
        var next = hub.Publish(Delta(One, 1));

        next.Sequence.Should().BeGreaterThan(old.Sequence);
        await FluentActions.Awaiting(async () => await hub.SubscribeAsync(One, old.Sequence, stop.Token).GetAsyncEnumerator(stop.Token).MoveNextAsync())
            .Should().ThrowAsync<SubscriberLaggedException>();
    }

    [Test]
    public async Task SubscribeAsync_WithinRetention_ReplaysTheEndedTurn()
    {
        var time = new FakeTimeProvider();
        var hub = Hub(time, retention: TimeSpan.FromMinutes(1));
        var old = hub.Publish(Delta(One, 0));
        var end = hub.Publish(Delta(One, 1));
        using var stop = new CancellationTokenSource();

        time.Advance(TimeSpan.FromSeconds(59));
        hub.Publish(Delta(Two, 0));

        var subscription = hub.SubscribeAsync(One, old.Sequence, stop.Token).GetAsyncEnumerator(stop.Token);
        (await subscription.MoveNextAsync()).Should().BeTrue();
        subscription.Current.Should().BeSameAs(end);
        await stop.CancelAsync();
        await subscription.DisposeAsync();
    }

    [Test]
    public async Task AddAgentCore_ConfiguredReplayCapacity_BoundsReplay()
    {
        var services = new ServiceCollection();
        services.AddAgentCore(o => o.DataDirectory = Path.Combine(Path.GetTempPath(), "agentcore-unused-" + Guid.NewGuid().ToString("N")));
        services.Configure<SessionEventsOptions>(o => o.ReplayCapacity = 2);
        await using var provider = services.BuildServiceProvider();
        var hub = provider.GetRequiredService<SessionEventHub>();
        var published = Enumerable.Range(0, 3).Select(i => hub.Publish(Delta(One, i))).ToList();
        using var stop = new CancellationTokenSource();

        await FluentActions.Awaiting(async () => await hub.SubscribeAsync(One, published[0].Sequence - 1, stop.Token).GetAsyncEnumerator(stop.Token).MoveNextAsync())
            .Should().ThrowAsync<SubscriberLaggedException>("only the last two events are kept");
        var kept = hub.SubscribeAsync(One, published[0].Sequence, stop.Token).GetAsyncEnumerator(stop.Token);
        (await kept.MoveNextAsync()).Should().BeTrue();
        kept.Current.Should().BeSameAs(published[1]);
        await stop.CancelAsync();
        await kept.DisposeAsync();
    }

    [Test]
    public void Constructor_ZeroReplayCapacity_ThrowsNamingTheOption()
    {
        var act = () => Hub(replayCapacity: 0);

        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*ReplayCapacity*");
    }
}
