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

    [TestCase(false)]
    [TestCase(true)]
    public async Task ChatStreamingAsync_InterruptedMessageWithUsage_TotalsIncludeItAndItsTurnEndsOnceAsInterrupted(bool inMemory)
    {
        await using var h = new EngineHarness(inMemory: inMemory);
        var session = await h.Sessions.CreateAsync();
        var t0 = h.Time.GetUtcNow();
        await h.Store.SaveMessageAsync(TurnTests.Message(session.Id, ChatRole.User, "go", t0));
        var step = new TokenUsage(1_000, 100, 0, 0, 0);
        var open = new SessionMessage
        {
            Id = Identifier.Create(IdKind.Message), SessionId = session.Id, Role = ChatRole.Assistant, CreatedAt = t0,
            ProviderId = "test", ModelId = "model-1", Tokens = step, Cost = 0.0045m,
            Parts =
            [
                new StepStartPart { Id = Identifier.Create(IdKind.Part), StartedAt = t0 },
                new StepFinishPart { Id = Identifier.Create(IdKind.Part), Tokens = step, Cost = 0.0045m, EndedAt = t0.AddSeconds(2) },
                new ToolPart { Id = Identifier.Create(IdKind.Part), CallId = "call_1", ToolName = "search", State = ToolState.Running, StartedAt = t0.AddSeconds(2) },
            ],
        };
        await h.Store.SaveMessageAsync(open);
        h.Client.EnqueueText("back", input: 10, output: 1).EnqueueText("again", input: 10, output: 1);

        await h.ChatAsync(session.Id, "are you there?");
        await h.ChatAsync(session.Id, "and now?");

        var messages = await h.Sessions.GetMessagesAsync(session.Id);
        var totals = await h.Sessions.GetAsync(session.Id);
        totals.Tokens.Should().Be(step + new TokenUsage(20, 2, 0, 0, 0), "the interrupted turn's usage so far is counted, once");
        totals.Cost.Should().Be(messages.Sum(static m => m.Cost));
        var ends = await EndEntriesAsync(h, session.Id);
        ends.Select(static e => e.ExitReason).Should().Equal("interrupted", "completed", "completed");
        ends[0].Cost.UsdByok.Should().Be(0.0045m);
        ends[0].Usage.Should().BeEquivalentTo(new HistoryUsage { PromptTokens = 1_000, CompletionTokens = 100, TotalTokens = 1_100, ContextTokens = 1_100, Steps = 1 });
        ends[0].ToolCallCount.Should().Be(1);
        ends[0].Duration.ApiMs.Should().Be(2_000);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task ChatStreamingAsync_CompletedReplyMissingFromTotals_AddedOnceWithOneEndEntry(bool inMemory)
    {
        // As a process leaves it when it dies between storing its completed reply and writing the history and totals.
        await using var h = new EngineHarness(inMemory: inMemory);
        var session = await h.Sessions.CreateAsync();
        var t0 = h.Time.GetUtcNow();
        await h.Store.SaveMessageAsync(TurnTests.Message(session.Id, ChatRole.User, "go", t0));
        var reply = TurnTests.Message(session.Id, ChatRole.Assistant, "done", t0);
        reply.Tokens = new TokenUsage(500, 50, 0, 0, 0);
        reply.Cost = 0.01m;
        await h.Store.SaveMessageAsync(reply);
        h.Client.EnqueueText("next").EnqueueText("and next");

        await h.ChatAsync(session.Id, "one");
        await h.ChatAsync(session.Id, "two");

        var totals = await h.Sessions.GetAsync(session.Id);
        totals.Tokens.Should().Be(reply.Tokens);
        totals.Cost.Should().Be(0.01m);
        (await EndEntriesAsync(h, session.Id)).Select(static e => e.ExitReason).Should().Equal("interrupted", "completed", "completed");
        (await h.Sessions.GetMessagesAsync(session.Id))[1].Should().BeEquivalentTo(reply, "a completed message is not rewritten");
    }

    [Test]
    public async Task ChatStreamingAsync_CompletedReplyWhoseEndEntryWasWritten_NoSecondEntry()
    {
        // As a process leaves it when it dies between writing its history end entry and the totals.
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var t0 = h.Time.GetUtcNow();
        var reply = TurnTests.Message(session.Id, ChatRole.Assistant, "done", t0);
        reply.Tokens = new TokenUsage(500, 50, 0, 0, 0);
        await h.Store.SaveMessageAsync(reply);
        await h.History.RecordEndAsync(new SessionHistoryEntry { SessionId = session.Id, Timestamp = t0.ToUnixTimeMilliseconds(), ExitReason = "completed" });
        h.Client.EnqueueText("next");

        await h.ChatAsync(session.Id, "one");

        (await h.Sessions.GetAsync(session.Id)).Tokens.Should().Be(reply.Tokens);
        (await EndEntriesAsync(h, session.Id)).Select(static e => e.ExitReason).Should().Equal("completed", "completed");
    }

    [Test]
    public async Task ChatStreamingAsync_CompletedMessageWithAToolPartNotYetRun_LeftAsItIs()
    {
        // A completed message whose tool call waits (for a person's approval, say) belongs to no dead turn.
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var waiting = TurnTests.Message(session.Id, ChatRole.Assistant, "May I?", h.Time.GetUtcNow());
        waiting.Parts.Add(new ToolPart { Id = Identifier.Create(IdKind.Part), CallId = "call_1", ToolName = "search", State = ToolState.Pending });
        await h.Store.SaveMessageAsync(waiting);
        var before = (await h.Sessions.GetMessagesAsync(session.Id)).Single();
        h.Client.EnqueueText("ok");

        await h.ChatCapturingAsync(session.Id, "go");

        (await h.Sessions.GetMessagesAsync(session.Id))[0].Should().BeEquivalentTo(before);
    }

    [Test]
    public async Task SummarizeAsync_InterruptedTurnInStore_RecoveredAndSummaryCounted()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var t0 = h.Time.GetUtcNow();
        await h.Store.SaveMessageAsync(TurnTests.Message(session.Id, ChatRole.User, "go", t0));
        var open = TurnTests.Message(session.Id, ChatRole.Assistant, "partial", t0);
        open.CompletedAt = null;
        open.Tokens = new TokenUsage(100, 10, 0, 0, 0);
        await h.Store.SaveMessageAsync(open);
        h.Client.EnqueueText("the summary", input: 300, output: 30);

        var summary = await h.Sessions.SummarizeAsync(session.Id);

        (await h.Sessions.GetMessagesAsync(session.Id))[1].Error!.Kind.Should().Be(MessageErrorKind.Interrupted);
        (await h.Sessions.GetAsync(session.Id)).Tokens.Should().Be(open.Tokens + summary.Tokens);
        (await EndEntriesAsync(h, session.Id)).Select(static e => e.ExitReason).Should().Equal("interrupted");
    }

    private static async Task<List<SessionHistoryEntry>> EndEntriesAsync(EngineHarness h, string sessionId)
    {
        var ends = new List<SessionHistoryEntry>();
        await foreach (var entry in h.History.ReadAsync())
        {
            if (entry.SessionId == sessionId && entry.ExitReason is not null)
            {
                ends.Add(entry);
            }
        }

        return ends;
    }
}
