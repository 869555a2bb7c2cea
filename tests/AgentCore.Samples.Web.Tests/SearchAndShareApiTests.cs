using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Samples.Web.Tests;

/// <summary>Search (<c>GET /api/search</c>) and share links (<c>POST/DELETE /api/sessions/{id}/share</c>, <c>GET /api/shared</c>) over HTTP.</summary>
[TestFixture]
public sealed class SearchAndShareApiTests() : SampleServerFixture(TimeSpan.Zero)
{
    [Test]
    public async Task Search_AfterATurn_FindsTheMessagesWithTheTitleAndMarkedSnippets()
    {
        var session = await Client.CreateSessionAsync("Birds");
        await Client.ChatAsync(session.Id(), "Where do flamingos sleep?");

        var hits = (await Client.GetFromJsonAsync<JsonElement[]>("api/search?q=FLAMINGO"))!;

        hits.Should().HaveCount(2, "the user's message, and the demo reply that repeats it");
        hits.Should().OnlyContain(h => h.GetProperty("sessionId").GetString() == session.Id() && h.GetProperty("sessionTitle").GetString() == "Birds");
        var user = hits.Single(h => h.GetProperty("role").GetString() == "user");
        user.GetProperty("source").GetString().Should().Be("text");
        var snippet = user.GetProperty("snippet");
        snippet.GetProperty("text").GetString().Should().Be("Where do flamingos sleep?");
        var highlight = snippet.GetProperty("highlights")[0];
        (highlight.GetProperty("start").GetInt32(), highlight.GetProperty("length").GetInt32()).Should().Be((9, 9));
        var messages = (await Client.GetFromJsonAsync<JsonElement[]>($"api/sessions/{session.Id()}/messages"))!;
        user.GetProperty("messageId").GetString().Should().Be(messages[0].Id());
    }

    [Test]
    public async Task Search_NoWordOrLimitOutOfRange_Returns400NamingTheValue()
    {
        using var empty = await Client.GetAsync("api/search?q=%20%3F%21");
        using var missing = await Client.GetAsync("api/search");
        using var limit = await Client.GetAsync("api/search?q=x&limit=1000");

        empty.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await empty.Content.ReadAsStringAsync()).Should().Contain("no word").And.Contain("Text");
        missing.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        limit.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await limit.Content.ReadAsStringAsync()).Should().Contain("Limit");
    }

    [Test]
    public async Task Share_ThenGetShared_ReadOnlyViewWithoutIdsAndOnlyTheHashStored()
    {
        var session = await Client.CreateSessionAsync("Shared plans");
        await Client.ChatAsync(session.Id(), "Meet at noon");

        using var shared = await Client.PostAsync($"api/sessions/{session.Id()}/share", content: null);

        shared.StatusCode.Should().Be(HttpStatusCode.Created);
        var link = await shared.Content.ReadFromJsonAsync<JsonElement>();
        string token = link.GetProperty("token").GetString()!;
        token.Should().MatchRegex("^[A-Za-z0-9_-]{43}$", "256 random bits, base64url");
        link.GetProperty("url").GetString().Should().Be("/shared.html#" + token);

        using var view = await GetSharedAsync(token);
        view.StatusCode.Should().Be(HttpStatusCode.OK);
        string body = await view.Content.ReadAsStringAsync();
        body.Should().NotContain(session.Id()).And.NotContain("msg_").And.NotContain("prt_");
        var read = JsonDocument.Parse(body).RootElement;
        read.GetProperty("title").GetString().Should().Be("Shared plans");
        var messages = read.GetProperty("messages").EnumerateArray().ToList();
        messages.Select(m => m.GetProperty("role").GetString()).Should().Equal("user", "assistant");
        messages[0].GetProperty("text").GetString().Should().Be("Meet at noon");
        messages[1].GetProperty("text").GetString().Should().Be(SampleApi.DemoReply("Meet at noon"));

        string stored = await Client.GetStringAsync($"api/sessions/{session.Id()}");
        stored.Should().NotContain(token);
        JsonDocument.Parse(stored).RootElement.GetProperty("metadata").GetProperty("share-sha256").GetString()
            .Should().Be(Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(token))));
    }

    [Test]
    public async Task GetShared_RevokedReplacedUnknownOrMalformedToken_Returns404()
    {
        var session = await Client.CreateSessionAsync("Once shared");
        string first = await ShareAsync(session.Id());
        string second = await ShareAsync(session.Id());

        (await StatusOfSharedAsync(first)).Should().Be(HttpStatusCode.NotFound, "sharing again replaces the link");
        (await StatusOfSharedAsync(second)).Should().Be(HttpStatusCode.OK);

        using (var revoked = await Client.DeleteAsync($"api/sessions/{session.Id()}/share"))
        {
            revoked.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        (await StatusOfSharedAsync(second)).Should().Be(HttpStatusCode.NotFound);
        (await StatusOfSharedAsync(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_'))).Should().Be(HttpStatusCode.NotFound);
        (await StatusOfSharedAsync("short")).Should().Be(HttpStatusCode.NotFound);
        (await StatusOfSharedAsync(null)).Should().Be(HttpStatusCode.NotFound);
        (await Client.GetFromJsonAsync<JsonElement>($"api/sessions/{session.Id()}")).GetProperty("metadata").TryGetProperty("share-sha256", out _).Should().BeFalse();
    }

    [Test]
    public async Task Share_UnknownSession_Returns404()
    {
        using var response = await Client.PostAsync($"api/sessions/ses_nosuchsession0000000/share", content: null);

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    private async Task<string> ShareAsync(string sessionId)
    {
        using var response = await Client.PostAsync($"api/sessions/{sessionId}/share", content: null);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
    }

    private Task<HttpResponseMessage> GetSharedAsync(string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "api/shared");
        if (token is not null)
        {
            request.Headers.Add("X-Share-Token", token);
        }

        return Client.SendAsync(request);
    }

    private async Task<HttpStatusCode> StatusOfSharedAsync(string? token)
    {
        using var response = await GetSharedAsync(token);
        return response.StatusCode;
    }
}
