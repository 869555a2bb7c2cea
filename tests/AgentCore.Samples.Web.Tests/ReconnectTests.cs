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

        // The page got this far on the chat stream, then reloads: it follows from the last id it has, and twice more after
        // its connection drops.
        await ResumedReply.FollowAcrossDroppedConnectionsAsync(Client, session.Id(), [Client, Client, Client]);
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
