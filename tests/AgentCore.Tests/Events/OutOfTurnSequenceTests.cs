using AgentCore.Testing;
using AgentCore.Tests.Engine;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Tests.Events;

/// <summary>
/// Events raised outside a turn (a rename, a title that lands after its turn, a delete) take their place in the session's
/// numbered stream in one process: numbered after what came before, before what comes after, and replayed after a sequence.
/// </summary>
public sealed class OutOfTurnSequenceTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static async Task<List<SessionEvent>> TakeAsync(IAsyncEnumerator<SessionEvent> events, int count)
    {
        var taken = new List<SessionEvent>();
        while (taken.Count < count)
        {
            (await events.MoveNextAsync().AsTask().WaitAsync(Bound)).Should().BeTrue();
            taken.Add(events.Current);
        }

        return taken;
    }

    [Test]
    public async Task UpdateAsync_BetweenTwoTurns_NumberedBetweenThemAndReplayed()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.EnqueueText("first").EnqueueText("second");
        var first = await h.ChatAsync(session.Id, "one");

        await h.Sessions.UpdateAsync(session.Id, static s => s with { Title = "Renamed" });
        var second = await h.ChatAsync(session.Id, "two");

        using var stop = new CancellationTokenSource();
        await using var replay = h.Events.SubscribeAsync(session.Id, first[^1].Sequence, stop.Token).GetAsyncEnumerator(stop.Token);
        var renamed = (await TakeAsync(replay, 1)).Single();
        renamed.Should().BeOfType<SessionUpdated>().Which.Session.Title.Should().Be("Renamed");
        renamed.Sequence.Should().BeGreaterThan(first[^1].Sequence).And.BeLessThan(second[0].Sequence);
        (await TakeAsync(replay, second.Count)).Select(static e => e.Sequence).Should().Equal(second.Select(static e => e.Sequence));
    }

    [Test]
    public async Task ChatStreamingAsync_TitleLandsAfterTheTurnEnded_NumberedAfterItAndReplayed()
    {
        var titleGate = EngineHarness.Signal();
        var titles = new ScriptedChatClient().Enqueue(r => r.WaitFor(titleGate.Task).Text("Generated title"));
        await using var h = new EngineHarness(
            o => { o.GenerateTitles = true; o.TitleModel = "titles/namer"; },
            b => b.AddChatClient("titles", titles, [new ModelInfo("titles", "namer", 8_000, 1_000)]));
        var session = await h.Sessions.CreateAsync();
        h.Client.EnqueueText("reply");
        var turn = await h.ChatAsync(session.Id, "hello");
        long last = turn[^1].Sequence;
        using var stop = new CancellationTokenSource();
        await using var live = h.Events.SubscribeAsync(session.Id, last, stop.Token).GetAsyncEnumerator(stop.Token);
        var landed = live.MoveNextAsync();

        titleGate.SetResult();

        (await landed.AsTask().WaitAsync(Bound)).Should().BeTrue();
        live.Current.Should().BeOfType<SessionUpdated>().Which.Session.Title.Should().Be("Generated title");
        live.Current.Sequence.Should().Be(last + 1, "the session's stream goes on from the turn's last number");
        await using var replay = h.Events.SubscribeAsync(session.Id, last, stop.Token).GetAsyncEnumerator(stop.Token);
        (await TakeAsync(replay, 1)).Single().Should().BeSameAs(live.Current, "a late title is replayed like a turn's events");
    }

    [Test]
    public async Task DeleteAsync_SessionWithATurn_SessionDeletedNumberedAfterItsLastEvent()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.EnqueueText("reply");
        var turn = await h.ChatAsync(session.Id, "hello");
        using var stop = new CancellationTokenSource();
        await using var all = h.Events.SubscribeAsync(null, stop.Token).GetAsyncEnumerator(stop.Token);
        await using var one = h.Events.SubscribeAsync(session.Id, turn[^1].Sequence, stop.Token).GetAsyncEnumerator(stop.Token);

        (await h.Sessions.DeleteAsync(session.Id)).Should().BeTrue();

        var deleted = (await TakeAsync(one, 1)).Single();
        deleted.Should().BeOfType<SessionDeleted>();
        deleted.Sequence.Should().Be(turn[^1].Sequence + 1);
        (await TakeAsync(all, 1)).Single().Should().BeSameAs(deleted);
    }
}
