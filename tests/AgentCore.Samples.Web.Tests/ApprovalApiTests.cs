using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Samples.Web.Tests;

/// <summary>
/// <c>GET</c> and <c>POST /api/sessions/{id}/approvals</c>: the demo model's <c>save_note</c> call waits for approval, and
/// the page's Approve and Deny buttons answer it through this API.
/// </summary>
[TestFixture]
public sealed class ApprovalApiTests() : SampleServerFixture(TimeSpan.Zero)
{
    [Test]
    public async Task Chat_MentionsANote_TurnStopsAwaitingApprovalAndTheCallIsListed()
    {
        var session = await Client.CreateSessionAsync();

        var events = await Client.ChatAsync(session.Id(), "save a note: buy milk");

        var asked = events.Single(e => e.Name == "tool-approval-requested").Data;
        asked.GetProperty("toolName").GetString().Should().Be("save_note");
        string callId = asked.GetProperty("callId").GetString()!;
        events[^1].Data.GetProperty("exitReason").GetString().Should().Be("awaiting_approval");
        var waiting = await Client.GetFromJsonAsync<JsonElement>($"api/sessions/{session.Id()}/approvals");
        waiting.EnumerateArray().Select(w => w.GetProperty("callId").GetString()).Should().Equal(callId);
    }

    [Test]
    public async Task Approvals_Approve_ToolRunsAndTheModelAnswersWithItsResult()
    {
        var session = await Client.CreateSessionAsync();
        var asked = (await Client.ChatAsync(session.Id(), "save a note: buy milk")).Single(e => e.Name == "tool-approval-requested").Data;

        var events = await AnswerAsync(session.Id(), asked.GetProperty("callId").GetString()!, approved: true);

        var tool = events.Where(e => e.Name == "tool-call-updated").Select(e => e.Data.GetProperty("part")).Last();
        tool.GetProperty("state").GetString().Should().Be("completed");
        tool.GetProperty("output").GetString().Should().Be("saved the note \"save a note: buy milk\"");
        events[^1].Data.GetProperty("exitReason").GetString().Should().Be("completed");
        (await Client.GetFromJsonAsync<JsonElement>($"api/sessions/{session.Id()}/approvals")).GetArrayLength().Should().Be(0);
    }

    [Test]
    public async Task Approvals_Deny_ToolNotRunAndTheModelIsTold()
    {
        var session = await Client.CreateSessionAsync();
        var asked = (await Client.ChatAsync(session.Id(), "save a note: call mum")).Single(e => e.Name == "tool-approval-requested").Data;

        var events = await AnswerAsync(session.Id(), asked.GetProperty("callId").GetString()!, approved: false);

        var tool = events.Where(e => e.Name == "tool-call-updated").Select(e => e.Data.GetProperty("part")).Last();
        tool.GetProperty("state").GetString().Should().Be("error");
        tool.GetProperty("error").GetString().Should().Be("not run: the user rejected this call: no thanks");
        events[^1].Data.GetProperty("exitReason").GetString().Should().Be("completed");
    }

    [Test]
    public async Task Approvals_UnknownCall_BadRequestNamingIt()
    {
        var session = await Client.CreateSessionAsync();
        await Client.ChatAsync(session.Id(), "save a note: buy milk");

        using var response = await PostAnswerAsync(session.Id(), "call_nope", approved: true);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("call_nope");
    }

    private Task<HttpResponseMessage> PostAnswerAsync(string sessionId, string callId, bool approved)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"api/sessions/{sessionId}/approvals")
        {
            Content = JsonContent.Create(new { answers = new[] { new { callId, approved, reason = approved ? null : "no thanks" } } }),
        };
        request.Headers.Accept.ParseAdd("text/event-stream");
        return Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private async Task<List<StreamedEvent>> AnswerAsync(string sessionId, string callId, bool approved)
    {
        using var response = await PostAnswerAsync(sessionId, callId, approved);
        response.EnsureSuccessStatusCode();
        var events = new List<StreamedEvent>();
        await foreach (var streamed in response.ReadEventsAsync())
        {
            events.Add(streamed);
        }

        return events;
    }
}
