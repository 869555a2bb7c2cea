using AgentCore.Testing;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

public sealed class TurnTests
{
    [Test]
    public async Task ChatStreamingAsync_TextOnlyReply_StreamsDeltasPersistsBothMessagesAndEndsWithTurnCompleted()
    {
        await using var h = new EngineHarness();
        h.Client.Enqueue(r => r.Text("Hello, ").Text("world.").Usage(input: 100, output: 20).Finish(ChatFinishReason.Stop));
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "Say hello");

        events.OfType<TextDelta>().Select(e => e.Text).Should().Equal("Hello, ", "world.");
        events.Last().Should().BeOfType<TurnCompleted>().Which.ExitReason.Should().Be("completed");
        var messages = await h.Sessions.GetMessagesAsync(session.Id);
        messages.Should().HaveCount(2);
        messages[0].Role.Should().Be(ChatRole.User);
        messages[0].Text.Should().Be("Say hello");
        messages[1].Role.Should().Be(ChatRole.Assistant);
        messages[1].Text.Should().Be("Hello, world.");
        messages[1].CompletedAt.Should().NotBeNull();
        messages[1].Error.Should().BeNull();
        messages[1].Tokens.Should().Be(new TokenUsage(100, 20, 0, 0, 0));
        messages[1].FinishReason.Should().Be("stop");
        messages[1].Parts.Select(p => p.GetType()).Should().Equal(typeof(StepStartPart), typeof(TextPart), typeof(StepFinishPart));
    }

    [Test]
    public async Task ChatStreamingAsync_ToolLoop_RunsToolsFeedsResultsBackAndAnswers()
    {
        await using var h = new EngineHarness(build: b => b.AddTool(EngineHarness.Tool("upper", s => s.ToUpperInvariant())));
        h.Client
            .Enqueue(r => r.ToolCall("call_1", "upper", new { input = "abc" }).Usage(50, 5))
            .Enqueue(r => r.ToolCall("call_2", "upper", new { input = "def" }).Usage(60, 5))
            .Enqueue(r => r.Text("ABC and DEF").Usage(70, 5));
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "upper-case abc then def");

        var message = events.OfType<TurnCompleted>().Single().Message;
        var tools = message.Parts.OfType<ToolPart>().ToList();
        tools.Select(t => (t.CallId, t.State, t.Output)).Should().Equal(("call_1", ToolState.Completed, "ABC"), ("call_2", ToolState.Completed, "DEF"));
        tools.Should().OnlyContain(t => t.StartedAt != null && t.EndedAt != null);
        message.Text.Should().Be("ABC and DEF");
        message.Tokens.Should().Be(new TokenUsage(180, 15, 0, 0, 0));
        events.OfType<StepFinished>().Select(s => s.Step).Should().Equal(1, 2, 3);
        events.OfType<ToolCallUpdated>().Where(e => e.Part.CallId == "call_1").Select(e => e.Part.State)
            .Should().Equal(ToolState.Pending, ToolState.Running, ToolState.Completed);

        var third = h.Client.Calls[2].Messages;
        third.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Select(r => (r.CallId, r.Result as string))
            .Should().Equal(("call_1", "ABC"), ("call_2", "DEF"));
    }
}
