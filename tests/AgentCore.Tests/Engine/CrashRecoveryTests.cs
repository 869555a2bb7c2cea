using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

/// <summary>A turn a dead process left half-written is closed on the next load, so the next prompt is valid.</summary>
public sealed class CrashRecoveryTests
{
    [TestCase(false)]
    [TestCase(true)]
    public async Task ChatStreamingAsync_HalfFinishedMessageInStore_ClosedAsInterruptedAndEveryCallAnswered(bool inMemory)
    {
        await using var h = new EngineHarness(inMemory: inMemory);
        var session = await h.Sessions.CreateAsync();
        var t0 = h.Time.GetUtcNow();
        await h.Store.SaveMessageAsync(TurnTests.Message(session.Id, ChatRole.User, "look it up", t0));
        var open = new SessionMessage
        {
            Id = Identifier.Create(IdKind.Message),
            SessionId = session.Id,
            Role = ChatRole.Assistant,
            CreatedAt = t0,
            ProviderId = "test",
            ModelId = "model-1",
            Parts =
            [
                new StepStartPart { Id = Identifier.Create(IdKind.Part), StartedAt = t0 },
                new TextPart { Id = Identifier.Create(IdKind.Part), Text = "Looking it up." },
                new ToolPart
                {
                    Id = Identifier.Create(IdKind.Part), CallId = "call_running", ToolName = "search",
                    Arguments = JsonSerializer.SerializeToElement(new { input = "x" }), State = ToolState.Running, StartedAt = t0,
                },
                new ToolPart { Id = Identifier.Create(IdKind.Part), CallId = "call_pending", ToolName = "search", State = ToolState.Pending },
            ],
        };
        await h.Store.SaveMessageAsync(open);
        h.Time.Advance(TimeSpan.FromMinutes(3));
        h.Client.EnqueueText("Sorry, I was interrupted.");

        var result = await h.ChatCapturingAsync(session.Id, "are you there?");

        result.Error.Should().BeNull();
        var messages = await h.Sessions.GetMessagesAsync(session.Id);
        messages.Should().HaveCount(4);
        var closed = messages[1];
        closed.Id.Should().Be(open.Id);
        closed.CompletedAt.Should().Be(t0.AddMinutes(3));
        closed.Error!.Kind.Should().Be(MessageErrorKind.Interrupted);
        closed.Text.Should().Be("Looking it up.");
        closed.Parts.OfType<ToolPart>().Should().OnlyContain(t => t.State == ToolState.Error && t.Error!.Contains("interrupted") && t.EndedAt == t0.AddMinutes(3));

        var prompt = h.Client.Calls[0].Messages;
        prompt.Select(m => m.Role).Should().Equal(ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.User);
        prompt[2].Contents.OfType<FunctionCallContent>().Select(c => c.CallId).Should().Equal("call_running", "call_pending");
        var results = prompt[3].Contents.OfType<FunctionResultContent>().ToList();
        results.Select(r => r.CallId).Should().Equal("call_running", "call_pending");
        results.Should().OnlyContain(r => ((string)r.Result!).StartsWith("Error: interrupted", StringComparison.Ordinal));
        prompt[4].Text.Should().Be("are you there?");
        messages[3].Error.Should().BeNull();
    }

    [Test]
    public async Task GetMessagesAsync_HalfFinishedMessage_LeftAsItIsUntilATurnLoadsIt()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var open = TurnTests.Message(session.Id, ChatRole.Assistant, "partial", h.Time.GetUtcNow());
        open.CompletedAt = null;
        await h.Store.SaveMessageAsync(open);

        (await h.Sessions.GetMessagesAsync(session.Id)).Single().CompletedAt.Should().BeNull();
    }

    [Test]
    public async Task ChatStreamingAsync_CompletedMessagesInStore_LeftUntouched()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.EnqueueText("one").EnqueueText("two");
        await h.ChatAsync(session.Id, "first");
        var before = await h.Sessions.GetMessagesAsync(session.Id);

        await h.ChatAsync(session.Id, "second");

        var after = await h.Sessions.GetMessagesAsync(session.Id);
        after.Take(2).Should().BeEquivalentTo(before);
        after.Should().OnlyContain(m => m.Error == null);
    }
}
