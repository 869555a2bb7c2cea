using AgentCore.Tests.Engine;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace AgentCore.Tests.Events;

/// <summary>The caller's stream of a turn is the session's stream while the turn runs: consecutive sequences, the background title's event included.</summary>
public sealed class TurnStreamTests
{
    [Test]
    public async Task ChatStreamingAsync_TitleLandsMidTurn_CallerStreamHasItAndIsConsecutive()
    {
        var titles = new ScriptedChatClient().Enqueue(r => r.Text("Generated title"));
        await using var h = new EngineHarness(
            o => { o.GenerateTitles = true; o.TitleModel = "titles/namer"; },
            b => b.AddChatClient("titles", titles, [new ModelInfo("titles", "namer", 8_000, 1_000)]));
        var session = await h.Sessions.CreateAsync();
        using var stop = new CancellationTokenSource();
        var titleLanded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = h.Services.GetRequiredService<ISessionEvents>().SubscribeAsync(session.Id, stop.Token);
        var watching = Task.Run(async () =>
        {
            var seen = new List<SessionEvent>();
            await foreach (var e in subscription)
            {
                seen.Add(e);
                if (e is SessionUpdated { Session.Title: "Generated title" })
                {
                    titleLanded.TrySetResult();
                }

                if (e is TurnCompleted)
                {
                    return seen;
                }
            }

            return seen;
        });
        // The reply waits until the title's SessionUpdated is published, so it lands in the middle of the turn.
        h.Client.Enqueue(r => r.Text("first half").WaitFor(titleLanded.Task).Text(" second half"));

        var events = await h.ChatAsync(session.Id, "hello");

        events.OfType<SessionUpdated>().Should().Contain(e => e.Session.Title == "Generated title", "the title's event joins the turn's stream");
        var sequences = events.Select(static e => e.Sequence).ToList();
        sequences.Should().Equal(Enumerable.Range(0, sequences.Count).Select(i => sequences[0] + i), "a turn's stream has no gaps");
        events[^1].Should().BeOfType<TurnCompleted>();
        (await watching).Should().Equal(events, "subscribers and the caller see the same events");
    }

    /// <summary><see cref="ISessionService.ChatAsync"/> reads only the completion, but subscribers still get every event of its turn.</summary>
    [Test]
    public async Task ChatAsync_SessionSubscribed_SubscriberGetsEveryEventAndTheCallerTheMessage()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        using var stop = new CancellationTokenSource();
        var subscription = h.Services.GetRequiredService<ISessionEvents>().SubscribeAsync(session.Id, stop.Token);
        var watching = Task.Run(async () =>
        {
            var seen = new List<SessionEvent>();
            await foreach (var e in subscription)
            {
                seen.Add(e);
                if (e is TurnCompleted)
                {
                    break;
                }
            }

            return seen;
        });
        h.Client.Enqueue(r => r.Text("Hello").Text(", world"));

        var reply = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "hi" });

        reply.Text.Should().Be("Hello, world");
        var seen = await watching;
        seen.OfType<TextDelta>().Select(static d => d.Text).Should().Equal("Hello", ", world");
        seen.OfType<MessageUpdated>().Should().NotBeEmpty();
        seen[^1].Should().BeOfType<TurnCompleted>().Which.Message.Text.Should().Be("Hello, world");
        var sequences = seen.Select(static e => e.Sequence).ToList();
        sequences.Should().Equal(Enumerable.Range(0, sequences.Count).Select(i => sequences[0] + i), "the turn's events are numbered without gaps");
        var delta = seen.OfType<TextDelta>().First();
        SessionEventJson.Deserialize(SessionEventJson.TypeOf(delta), SessionEventJson.Serialize(delta))
            .Should().Be(delta, "a published event equals its copy read back: where it sits in the hub is not part of it");
    }

    [Test]
    public async Task ChatStreamingAsync_TotalsUnchanged_FinalSessionUpdatedIsNumberedToo()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("no usage reported"));

        var events = await h.ChatAsync(session.Id, "hello");

        events.Should().OnlyContain(static e => e.Sequence > 0);
        var sequences = events.Select(static e => e.Sequence).ToList();
        sequences.Should().Equal(Enumerable.Range(0, sequences.Count).Select(i => sequences[0] + i));
    }
}
