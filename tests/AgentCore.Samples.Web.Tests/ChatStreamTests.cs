using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Samples.Web.Tests;

/// <summary><c>POST /api/sessions/{id}/chat</c>: a turn's events as Server-Sent Events, in order, ending with <c>turn-completed</c>.</summary>
[TestFixture]
public sealed class ChatStreamTests() : SampleServerFixture(TimeSpan.Zero)
{
    [Test]
    public async Task Chat_Text_StreamsUserMessageDeltasStepAndTurnCompletedInOrder()
    {
        var session = await Client.CreateSessionAsync();

        using var response = await Client.PostChatAsync(session.Id(), "hello there");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/event-stream");
        var events = new List<StreamedEvent>();
        await foreach (var streamed in response.ReadEventsAsync())
        {
            events.Add(streamed);
        }

        var names = events.Select(e => e.Name).ToList();
        names[0].Should().Be("message-updated");
        events[0].Data.GetProperty("message").GetProperty("role").GetString().Should().Be("user");
        names[^1].Should().Be("turn-completed");
        names.Count(n => n == "turn-completed").Should().Be(1);
        names.Should().ContainInOrder("message-updated", "text-delta", "step-finished", "turn-completed");
        names.IndexOf("step-finished").Should().BeGreaterThan(names.LastIndexOf("text-delta"));
        names.Should().NotContain("error");

        string expected = SampleApi.DemoReply("hello there");
        var deltas = events.Where(e => e.Name == "text-delta").Select(e => e.Data.GetProperty("text").GetString()).ToList();
        deltas.Should().HaveCountGreaterThan(1, "the demo model streams word by word");
        string.Concat(deltas).Should().Be(expected);
        events.Should().OnlyContain(e => e.Data.GetProperty("sessionId").GetString() == session.Id());

        var completed = events[^1].Data;
        completed.GetProperty("exitReason").GetString().Should().Be("completed");
        var message = completed.GetProperty("message");
        message.GetProperty("role").GetString().Should().Be("assistant");
        message.GetProperty("completedAt").GetDateTimeOffset().Should().BeOnOrAfter(message.GetProperty("createdAt").GetDateTimeOffset());
        message.TryGetProperty("error", out _).Should().BeFalse();
        SampleApi.TextOf(message).Should().Be(expected);

        var step = events.Single(e => e.Name == "step-finished").Data;
        step.GetProperty("step").GetInt32().Should().Be(1);
        step.GetProperty("cost").GetDecimal().Should().BePositive("the demo model has made-up prices so a cost shows");
        message.GetProperty("cost").GetDecimal().Should().Be(step.GetProperty("cost").GetDecimal());
    }

    [Test]
    public async Task Chat_AsksForTheTime_StreamsToolCallStatesThenTheAnswer()
    {
        var session = await Client.CreateSessionAsync();

        var events = await Client.ChatAsync(session.Id(), "What time is it?");

        var names = events.Select(e => e.Name).ToList();
        var tool = events.Where(e => e.Name == "tool-call-updated").Select(e => e.Data.GetProperty("part")).ToList();
        tool.Select(p => p.GetProperty("state").GetString()).Should().Equal("pending", "running", "completed");
        tool.Should().OnlyContain(p => p.GetProperty("toolName").GetString() == "current_time");
        tool.Select(p => p.GetProperty("callId").GetString()).Distinct().Should().HaveCount(1);
        string output = tool[^1].GetProperty("output").GetString()!;
        DateTimeOffset.TryParse(output, out _).Should().BeTrue($"the tool returns the time, not '{output}'");

        var steps = events.Where(e => e.Name == "step-finished").Select(e => e.Data).ToList();
        steps.Select(s => s.GetProperty("step").GetInt32()).Should().Equal(1, 2);
        steps[0].GetProperty("finishReason").GetString().Should().Be("tool_calls");
        steps[1].GetProperty("finishReason").GetString().Should().Be("stop");

        // The model asks for the tool (step 1 ends), the tool runs, then step 2 streams the answer.
        names.IndexOf("step-finished").Should().BeLessThan(names.LastIndexOf("tool-call-updated"));
        names.IndexOf("text-delta").Should().BeGreaterThan(names.LastIndexOf("tool-call-updated"));
        names[^1].Should().Be("turn-completed");

        string text = string.Concat(events.Where(e => e.Name == "text-delta").Select(e => e.Data.GetProperty("text").GetString()));
        text.Should().StartWith($"The current_time tool says it is {output}.");
        var message = events[^1].Data.GetProperty("message");
        message.GetProperty("cost").GetDecimal().Should().Be(steps.Sum(s => s.GetProperty("cost").GetDecimal()));
    }

    [Test]
    public async Task Chat_Completed_MessagesAndSessionTotalsAreStored()
    {
        var session = await Client.CreateSessionAsync();

        var events = await Client.ChatAsync(session.Id(), "remember this");

        var messages = (await Client.GetFromJsonAsync<JsonElement[]>($"api/sessions/{session.Id()}/messages"))!;
        messages.Select(m => m.GetProperty("role").GetString()).Should().Equal("user", "assistant");
        SampleApi.TextOf(messages[0]).Should().Be("remember this");
        SampleApi.TextOf(messages[1]).Should().Be(SampleApi.DemoReply("remember this"));
        decimal cost = events[^1].Data.GetProperty("message").GetProperty("cost").GetDecimal();
        var stored = await Client.GetFromJsonAsync<JsonElement>($"api/sessions/{session.Id()}");
        stored.GetProperty("cost").GetDecimal().Should().Be(cost);
        stored.GetProperty("tokens").GetProperty("output").GetInt64().Should().BePositive();
    }

    [Test]
    public async Task Chat_MessageText_IsNotLoggedAtInformationOrAbove()
    {
        var session = await Client.CreateSessionAsync();
        string marker = "secret-" + Guid.NewGuid().ToString("N");

        var events = await Client.ChatAsync(session.Id(), $"my {marker} stays private");

        events[^1].Name.Should().Be("turn-completed");
        await Server.WaitForOutputAsync($"Session {session.Id()}: turn ended (completed)", TimeSpan.FromSeconds(30));
        Server.Output.Should().NotContain(marker);
    }
}
