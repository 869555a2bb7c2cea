using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Samples.Web.Tests;

/// <summary>
/// Event ids and <c>GET /api/sessions/{id}/events</c>: a client that loses its connection mid-reply reconnects with
/// <c>Last-Event-ID</c> and gets the rest of the reply, nothing twice. The demo model's words come a few milliseconds
/// apart, so the reconnects usually land mid-reply; the assertions hold either way, because the events of a turn that
/// just ended are replayed too.
/// </summary>
[TestFixture]
public sealed class ReconnectTests() : SampleServerFixture(TimeSpan.FromMilliseconds(15))
{
    [Test]
    public async Task Chat_Stream_EventIdsAreConsecutiveSequences()
    {
        var session = await Client.CreateSessionAsync();

        var events = await Client.ChatAsync(session.Id(), "hello");

        var ids = events.Select(e => long.Parse(e.Id!, CultureInfo.InvariantCulture)).ToList();
        // Consecutive: the turn's stream carries every event of the session while it runs, the background title's included.
        ids.Should().HaveCountGreaterThan(2);
        ids.Should().Equal(Enumerable.Range(0, ids.Count).Select(i => ids[0] + i));
    }

    [Test]
    public async Task Follow_ConnectionDroppedTwiceMidReply_ResumesFromLastEventIdAndTheTextEqualsTheStoredMessage()
    {
        var session = await Client.CreateSessionAsync();
        using var chat = await Client.PostChatAsync(session.Id(), "tell me something long");
        chat.StatusCode.Should().Be(HttpStatusCode.OK);
        await using var turn = chat.ReadEventsAsync().GetAsyncEnumerator();
        var streamed = new List<StreamedEvent>();
        while (streamed.Count(e => e.Name == "text-delta") < 2 && await turn.MoveNextAsync())
        {
            streamed.Add(turn.Current);
        }

        // The page got this far on the chat stream, then reloads: it follows from the last id it has.
        var followed = new List<StreamedEvent>();
        int resumedAt = streamed.Count;
        string lastId = streamed[^1].Id!;
        for (int connection = 0; connection < 3; connection++)
        {
            using var follow = await Client.FollowAsync(session.Id(), lastId);
            follow.StatusCode.Should().Be(HttpStatusCode.OK);
            int read = 0;
            await foreach (var e in follow.ReadEventsAsync())
            {
                followed.Add(e);
                lastId = e.Id!;
                // The first two connections drop after three events; the last one reads to the end of the turn.
                if (e.Name == "turn-completed" || (connection < 2 && ++read == 3))
                {
                    break;
                }
            }
        }

        while (await turn.MoveNextAsync())
        {
            streamed.Add(turn.Current);
        }

        followed.Select(e => e.Id).Should().Equal(streamed.Skip(resumedAt).Select(e => e.Id), "every event after the last id, once, in order");
        followed.Select(e => e.Name).Should().Equal(streamed.Skip(resumedAt).Select(e => e.Name));
        followed[^1].Name.Should().Be("turn-completed");

        string text = string.Concat(streamed.Take(resumedAt).Concat(followed)
            .Where(e => e.Name == "text-delta").Select(e => e.Data.GetProperty("text").GetString()));
        var messages = (await Client.GetFromJsonAsync<JsonElement[]>($"api/sessions/{session.Id()}/messages"))!;
        text.Should().Be(SampleApi.TextOf(messages[^1])).And.Be(SampleApi.DemoReply("tell me something long"));
    }

    [Test]
    public async Task Follow_NotANumberAsLastEventId_Returns400()
    {
        var session = await Client.CreateSessionAsync();

        using var response = await Client.FollowAsync(session.Id(), "abc");

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Test]
    public async Task Follow_UnknownSession_Returns404()
    {
        using var response = await Client.FollowAsync("ses_00000000000000000000000000", "1");

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }
}
