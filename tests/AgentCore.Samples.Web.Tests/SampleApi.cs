using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace AgentCore.Samples.Web.Tests;

/// <summary>One Server-Sent Event of a chat stream: its name, its JSON data and its id (the event's sequence).</summary>
internal sealed record StreamedEvent(string Name, JsonElement Data, string? Id = null);

/// <summary>Calls the sample's HTTP API the way a client does, without the sample's types.</summary>
internal static class SampleApi
{
    /// <summary>The reply the offline demo model gives to <paramref name="said"/> (no tool call).</summary>
    public static string DemoReply(string said) =>
        "This is AgentCore's offline demo model, not a real one: set ANTHROPIC_API_KEY to talk to Claude. It repeats what " +
        $"you say, and calls a tool when you mention the time or a note. You said: \"{said}\"";

    public static async Task<JsonElement> CreateSessionAsync(this HttpClient client, string? title = null)
    {
        using var response = await client.PostAsJsonAsync("api/sessions", new { title });
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Starts a turn; the answer's body is the event stream (read it with <see cref="ReadEventsAsync"/>).</summary>
    public static Task<HttpResponseMessage> PostChatAsync(this HttpClient client, string sessionId, string? text)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"api/sessions/{sessionId}/chat") { Content = JsonContent.Create(new { text }) };
        request.Headers.Accept.ParseAdd("text/event-stream");
        return client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    public static async IAsyncEnumerable<StreamedEvent> ReadEventsAsync(this HttpResponseMessage response, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cancellationToken))
        {
            using var data = JsonDocument.Parse(item.Data);
            yield return new StreamedEvent(item.EventType, data.RootElement.Clone(), item.EventId);
        }
    }

    /// <summary>Runs a whole turn and returns its events.</summary>
    public static async Task<List<StreamedEvent>> ChatAsync(this HttpClient client, string sessionId, string text)
    {
        using var response = await client.PostChatAsync(sessionId, text);
        response.EnsureSuccessStatusCode();
        var events = new List<StreamedEvent>();
        await foreach (var streamed in response.ReadEventsAsync())
        {
            events.Add(streamed);
        }

        return events;
    }

    /// <summary>Follows a session (<c>GET api/sessions/{id}/events</c>), resuming after <paramref name="lastEventId"/> when given.</summary>
    public static Task<HttpResponseMessage> FollowAsync(this HttpClient client, string sessionId, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"api/sessions/{sessionId}/events");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        return client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>The text of a stored message as the API returns it: its text parts, joined.</summary>
    public static string TextOf(JsonElement message) => string.Concat(
        message.GetProperty("parts").EnumerateArray()
            .Where(p => p.GetProperty("type").GetString() == "text")
            .Select(p => p.GetProperty("text").GetString()));

    public static string Id(this JsonElement session) => session.GetProperty("id").GetString()!;
}
