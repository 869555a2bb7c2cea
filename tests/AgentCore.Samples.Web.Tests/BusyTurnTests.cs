using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Samples.Web.Tests;

/// <summary>
/// A session with a turn running: a second turn or a delete is 409, abort stops the turn. The demo model here waits
/// ten minutes between words, so a turn runs (holding the session's lock) from its first word until it is aborted.
/// </summary>
[TestFixture]
public sealed class BusyTurnTests() : SampleServerFixture(TimeSpan.FromMinutes(10))
{
    [Test]
    public async Task ChatAndDelete_WhileTurnRuns_Return409ThenAbortEndsTheTurn()
    {
        var session = await Client.CreateSessionAsync();
        using var running = await Client.PostChatAsync(session.Id(), "a long answer please");
        running.StatusCode.Should().Be(HttpStatusCode.OK);
        await using var events = running.ReadEventsAsync().GetAsyncEnumerator();
        await ReadUntilAsync(events, "text-delta");

        using (var second = await Client.PostChatAsync(session.Id(), "and another"))
        {
            await SessionsApiTests.ShouldBeProblemAsync(second, HttpStatusCode.Conflict, "busy");
        }

        using (var delete = await Client.DeleteAsync($"api/sessions/{session.Id()}"))
        {
            await SessionsApiTests.ShouldBeProblemAsync(delete, HttpStatusCode.Conflict, "busy");
        }

        using var abort = await Client.PostAsync($"api/sessions/{session.Id()}/abort", content: null);
        (await abort.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("aborted").GetBoolean().Should().BeTrue();

        var completed = await ReadUntilAsync(events, "turn-completed");
        completed.Data.GetProperty("exitReason").GetString().Should().Be("aborted");
        completed.Data.GetProperty("message").GetProperty("error").GetProperty("kind").GetString().Should().Be("aborted");
        (await events.MoveNextAsync()).Should().BeFalse("turn-completed is the last event");

        var messages = await Client.GetFromJsonAsync<JsonElement[]>($"api/sessions/{session.Id()}/messages");
        messages!.Select(m => m.GetProperty("role").GetString()).Should().Equal("user", "assistant");
        using var deleteAfter = await Client.DeleteAsync($"api/sessions/{session.Id()}");
        deleteAfter.StatusCode.Should().Be(HttpStatusCode.NoContent, "the aborted turn released the session");
    }

    [Test]
    public async Task Chat_ClientDisconnects_TurnIsAbortedAndTheSessionFreed()
    {
        var session = await Client.CreateSessionAsync();
        using (var running = await Client.PostChatAsync(session.Id(), "a long answer please"))
        {
            await using var events = running.ReadEventsAsync().GetAsyncEnumerator();
            await ReadUntilAsync(events, "text-delta");
        }

        // Disposing the response closed the connection: the server aborts the turn, completes its message, and logs
        // the end of the turn once its lock is released.
        await Server.WaitForOutputAsync($"Session {session.Id()}: turn ended (", TimeSpan.FromSeconds(30));
        var messages = await Client.GetFromJsonAsync<JsonElement[]>($"api/sessions/{session.Id()}/messages");
        messages![^1].GetProperty("error").GetProperty("kind").GetString().Should().Be("aborted");
        using var delete = await Client.DeleteAsync($"api/sessions/{session.Id()}");
        delete.StatusCode.Should().Be(HttpStatusCode.NoContent, "the aborted turn released the session");
    }

    private static async Task<StreamedEvent> ReadUntilAsync(IAsyncEnumerator<StreamedEvent> events, string name)
    {
        while (await events.MoveNextAsync())
        {
            if (events.Current.Name == name)
            {
                return events.Current;
            }
        }

        throw new AssertionException($"The stream ended without a '{name}' event.");
    }
}
