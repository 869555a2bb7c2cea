using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentCore.Samples.Web.Tests.Browser;
using FluentAssertions;

namespace AgentCore.Samples.Web.Tests;

/// <summary>
/// What the reconnect tests share: a client reads a long reply's chat stream up to its second text delta, loses it, and
/// follows the rest (<c>GET api/sessions/{id}/events</c> with <c>Last-Event-ID</c>) over several connections, each but the
/// last dropped after three events.
/// </summary>
internal static class ResumedReply
{
    /// <summary>
    /// Starts the reply in <paramref name="sessionId"/> on <paramref name="chatClient"/>, then follows it on each of
    /// <paramref name="followers"/> in turn until the turn completes, and checks that the followed events are every event
    /// after the last one the chat stream gave, once, in order, and that the reply's text equals the stored message's (read
    /// through the last follower).
    /// </summary>
    public static async Task FollowAcrossDroppedConnectionsAsync(HttpClient chatClient, string sessionId, IReadOnlyList<HttpClient> followers)
    {
        using var chat = await chatClient.PostChatAsync(sessionId, ResumingReplies.Said);
        chat.StatusCode.Should().Be(HttpStatusCode.OK);
        await using var turn = chat.ReadEventsAsync().GetAsyncEnumerator();
        var streamed = new List<StreamedEvent>();
        while (streamed.Count(e => e.Name == "text-delta") < 2 && await turn.MoveNextAsync())
        {
            streamed.Add(turn.Current);
        }

        var followed = new List<StreamedEvent>();
        int resumedAt = streamed.Count;
        string lastId = streamed[^1].Id!;
        for (int connection = 0; connection < followers.Count; connection++)
        {
            using var follow = await followers[connection].FollowAsync(sessionId, lastId);
            follow.StatusCode.Should().Be(HttpStatusCode.OK);
            int read = 0;
            await foreach (var e in follow.ReadEventsAsync())
            {
                followed.Add(e);
                lastId = e.Id!;
                // Every connection but the last drops after three events; the last one reads to the end of the turn.
                if (e.Name == "turn-completed" || (connection < followers.Count - 1 && ++read == 3))
                {
                    break;
                }
            }

            if (followed[^1].Name == "turn-completed")
            {
                break;
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
        var messages = (await followers[^1].GetFromJsonAsync<JsonElement[]>($"api/sessions/{sessionId}/messages"))!;
        text.Should().Be(SampleApi.TextOf(messages[^1])).And.Be(SampleApi.DemoReply(ResumingReplies.Said));
    }
}
