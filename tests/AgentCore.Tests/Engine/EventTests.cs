using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

/// <summary>The events of a turn, on its stream and through <see cref="ISessionEvents"/>.</summary>
public sealed class EventTests
{
    [Test]
    public async Task ChatStreamingAsync_TextTurn_EventsInOrderEndingWithTurnCompleted()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("a").Text("b").Usage(5, 2));

        var events = await h.ChatAsync(session.Id, "go");

        events.Select(e => e.GetType()).Should().Equal(
            typeof(MessageUpdated), typeof(MessageUpdated), typeof(TextDelta), typeof(TextDelta),
            typeof(StepFinished), typeof(MessageUpdated), typeof(SessionUpdated), typeof(TurnCompleted));
        events.Should().OnlyContain(e => e.SessionId == session.Id);
        var final = events.OfType<MessageUpdated>().Last().Message;
        final.CompletedAt.Should().NotBeNull();
        final.Text.Should().Be("ab");
        events.OfType<SessionUpdated>().Single().Session.Tokens.Should().Be(new TokenUsage(5, 2, 0, 0, 0));
        var completed = (TurnCompleted)events[^1];
        completed.Message.Should().BeEquivalentTo(final);
        events.OfType<TextDelta>().Should().OnlyContain(d => d.MessageId == completed.Message.Id);
    }

    [Test]
    public async Task ChatStreamingAsync_ToolTurn_ToolEventsBetweenStepsAndTurnCompletedLast()
    {
        await using var h = new EngineHarness(build: b => b.AddTool(EngineHarness.Tool("t", s => s + "!")));
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.ToolCall("call_1", "t", new { input = "x" })).EnqueueText("done");

        var events = await h.ChatAsync(session.Id, "go");

        var names = events.Select(e => e switch
        {
            ToolCallUpdated t => "tool:" + t.Part.State,
            StepFinished s => "step" + s.Step,
            _ => e.GetType().Name,
        }).ToList();
        names.Should().Equal(
            "MessageUpdated", "MessageUpdated",
            "tool:Pending", "step1", "tool:Running", "tool:Completed",
            "TextDelta", "step2",
            "MessageUpdated", "SessionUpdated", "TurnCompleted");
    }

    [Test]
    public async Task SubscribeAsync_AllSessions_SeesEveryTurnExactlyAsItsStream()
    {
        await using var h = new EngineHarness();
        var one = await h.Sessions.CreateAsync();
        var two = await h.Sessions.CreateAsync();
        using var stop = new CancellationTokenSource();
        var all = h.Events.SubscribeAsync(cancellationToken: stop.Token);
        h.Client.EnqueueText("first").EnqueueText("second");

        var streamOne = await h.ChatAsync(one.Id, "go");
        var streamTwo = await h.ChatAsync(two.Id, "go");
        var seen = await ReadUntilAsync(all, count: 2);

        seen.Where(e => e.SessionId == one.Id).Select(e => e.GetType()).Should().Equal(streamOne.Select(e => e.GetType()));
        seen.Where(e => e.SessionId == two.Id).Select(e => e.GetType()).Should().Equal(streamTwo.Select(e => e.GetType()));
        seen.OfType<SessionUpdated>().Should().HaveCount(2, "one totals update per turn, raised once");
        await stop.CancelAsync();
    }

    [Test]
    public async Task SubscribeAsync_OneSession_SeesOnlyThatSession()
    {
        await using var h = new EngineHarness();
        var mine = await h.Sessions.CreateAsync();
        var other = await h.Sessions.CreateAsync();
        using var stop = new CancellationTokenSource();
        var subscription = h.Events.SubscribeAsync(mine.Id, stop.Token);
        h.Client.EnqueueText("other").EnqueueText("mine");

        await h.ChatAsync(other.Id, "go");
        var stream = await h.ChatAsync(mine.Id, "go");
        var seen = await ReadUntilAsync(subscription, count: 1);

        seen.Should().OnlyContain(e => e.SessionId == mine.Id);
        seen.Select(e => e.GetType()).Should().Equal(stream.Select(e => e.GetType()));
        await stop.CancelAsync();
    }

    [Test]
    public async Task SubscribeAsync_InvalidSessionId_ThrowsArgumentException()
    {
        await using var h = new EngineHarness();

        FluentActions.Invoking(() => h.Events.SubscribeAsync("../x")).Should().Throw<ArgumentException>();
    }

    [Test]
    public async Task ChatStreamingAsync_FailedTurn_TurnCompletedStillLast()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("x").Throw(new InvalidOperationException("boom")));

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Events.Last().Should().BeOfType<TurnCompleted>().Which.ExitReason.Value.Should().Be("error");
        result.Error.Should().BeOfType<InvalidOperationException>();
    }

    [Test]
    public async Task ChatStreamingAsync_TextTurn_SequencesConsecutiveAndTheSameForSubscribers()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        using var stop = new CancellationTokenSource();
        var subscription = h.Events.SubscribeAsync(session.Id, stop.Token);
        h.Client.Enqueue(r => r.Text("a").Text("b").Usage(5, 2));

        var stream = await h.ChatAsync(session.Id, "go");
        var seen = await ReadUntilAsync(subscription, count: 1);

        stream.Select(e => e.Sequence).Should().Equal(Enumerable.Range(0, stream.Count).Select(i => stream[0].Sequence + i));
        seen.Should().Equal(stream, "subscribers get the very events of the caller's stream, SessionUpdated included");
        await stop.CancelAsync();
    }

    [Test]
    public async Task SubscribeAsync_AfterSequenceMidTurn_ReplaysTheMissedPartThenTheRestOfTheTurn()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var release = new TaskCompletionSource();
        var parked = new TaskCompletionSource();
        h.Client.Enqueue(r => r.Text("one ").Text("two ").Then(parked.SetResult).WaitFor(release.Task).Text("three"));
        using var stop = new CancellationTokenSource();
        var first = h.Events.SubscribeAsync(session.Id, stop.Token).GetAsyncEnumerator(stop.Token);

        var turn = h.ChatAsync(session.Id, "go");
        await parked.Task;
        // The first subscriber reads up to its first text delta, then "disconnects".
        var before = new List<SessionEvent>();
        do
        {
            (await first.MoveNextAsync()).Should().BeTrue();
            before.Add(first.Current);
        }
        while (first.Current is not TextDelta);
        await first.DisposeAsync();

        var resumed = h.Events.SubscribeAsync(session.Id, before[^1].Sequence, stop.Token);
        release.SetResult();
        var stream = await turn;
        var after = await ReadUntilAsync(resumed, count: 1);

        before.Concat(after).Should().Equal(stream);
        string.Concat(before.Concat(after).OfType<TextDelta>().Select(d => d.Text)).Should().Be("one two three");
        await stop.CancelAsync();
    }

    /// <summary>Reads events until <paramref name="count"/> turns have completed.</summary>
    private static async Task<List<SessionEvent>> ReadUntilAsync(IAsyncEnumerable<SessionEvent> events, int count)
    {
        var seen = new List<SessionEvent>();
        await foreach (var e in events)
        {
            seen.Add(e);
            if (e is TurnCompleted && --count == 0)
            {
                break;
            }
        }

        return seen;
    }
}
