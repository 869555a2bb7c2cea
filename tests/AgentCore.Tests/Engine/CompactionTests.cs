using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

public sealed class CompactionTests
{
    // model-1: 200 000-token window, 8 000 max output → usable 192 000; × 0.9 = 172 800.
    private const long Threshold = 172_800;

    [Test]
    public async Task ChatStreamingAsync_LastReplyJustBelowThreshold_DoesNotCompact()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("first").Usage(input: Threshold - 100, output: 100));
        await h.ChatAsync(session.Id, "one");
        h.Client.Enqueue(r => r.Text("second").Usage(10, 10));

        var events = await h.ChatAsync(session.Id, "two");

        events.OfType<CompactionStarted>().Should().BeEmpty();
        h.Client.Calls.Should().HaveCount(2);
        (await h.Sessions.GetMessagesAsync(session.Id)).Should().NotContain(m => m.IsSummary);
    }

    [Test]
    public async Task ChatStreamingAsync_LastReplyJustAboveThreshold_CompactsThenRunsTheTurnFromTheSummary()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("first answer").Usage(input: Threshold - 100, output: 101));
        await h.ChatAsync(session.Id, "first question");
        h.Client.Enqueue(r => r.Text("SUMMARY: the user asked a first question.").Usage(500, 50));
        h.Client.Enqueue(r => r.Text("second answer").Usage(600, 20));

        var events = await h.ChatAsync(session.Id, "second question, exactly as typed");

        var started = events.OfType<CompactionStarted>().Should().ContainSingle().Subject;
        started.TokensBefore.Should().Be(Threshold + 1);
        var finished = events.OfType<CompactionFinished>().Should().ContainSingle().Subject;
        finished.TokensAfter.Should().BeLessThan(finished.TokensBefore);
        events.Last().Should().BeOfType<TurnCompleted>().Which.ExitReason.Value.Should().Be("completed");

        // The summary call saw the first exchange and our summary instructions.
        var summaryCall = h.Client.Calls[1];
        summaryCall.Messages[0].Role.Should().Be(ChatRole.System);
        summaryCall.Messages[0].Text.Should().Contain("## Next steps");
        summaryCall.Messages.Select(m => m.Text).Should().Contain("first question").And.Contain("first answer");
        summaryCall.Messages.Select(m => m.Text).Should().NotContain(t => t.Contains("second question"));

        // The turn's prompt: system, the summary introduced as such, then the pending request word for word.
        var turnCall = h.Client.Calls[2].Messages;
        turnCall.Select(m => m.Text).Should().NotContain("first question").And.NotContain("first answer");
        turnCall[1].Role.Should().Be(ChatRole.User);
        turnCall[1].Text.Should().Contain("summarized").And.Contain("SUMMARY: the user asked a first question.");
        turnCall[2].Text.Should().Be("second question, exactly as typed");

        var messages = await h.Sessions.GetMessagesAsync(session.Id);
        var summary = messages.Should().ContainSingle(m => m.IsSummary).Subject;
        summary.Tokens.Should().Be(new TokenUsage(500, 50, 0, 0, 0));
        summary.Cost.Should().Be((500 * 3m + 50 * 15m) / 1_000_000m);
        messages.Should().HaveCount(5, "two exchanges and one summary; nothing is deleted");

        // The next turn also starts from the summary and keeps the second exchange after it.
        h.Client.Enqueue(r => r.Text("third answer").Usage(10, 10));
        await h.ChatAsync(session.Id, "third question");
        var third = h.Client.Calls[3].Messages.Select(m => m.Text).ToList();
        third.Should().NotContain("first question");
        third.Should().ContainInOrder("second question, exactly as typed", "second answer", "third question");
    }

    [Test]
    public async Task ChatStreamingAsync_AutoCompactionOff_NeverCompacts()
    {
        await using var h = new EngineHarness(o => o.AutoCompaction = false);
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("first").Usage(input: 199_000, output: 900));
        await h.ChatAsync(session.Id, "one");
        h.Client.Enqueue(r => r.Throw(new HttpRequestException("This model's maximum context length is 200000 tokens", null, System.Net.HttpStatusCode.BadRequest)));

        var act = async () => await h.ChatAsync(session.Id, "two");

        await act.Should().ThrowAsync<HttpRequestException>();
        h.Client.Calls.Should().HaveCount(2, "no summary call was made");
        var messages = await h.Sessions.GetMessagesAsync(session.Id);
        messages.Should().NotContain(m => m.IsSummary);
        messages[^1].Error!.Kind.Should().Be(MessageErrorKind.ContextOverflow);
    }

    [TestCase("context_length_exceeded")]
    [TestCase("prompt is too long: 210000 tokens > 200000 maximum")]
    [TestCase("The input token count (1048577) exceeds the maximum number of tokens allowed (1048576).")]
    public async Task ChatStreamingAsync_ProviderSaysContextTooLong_CompactsOnceAndRetriesTheStep(string wording)
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("earlier answer").Usage(1000, 10));
        await h.ChatAsync(session.Id, "earlier question");
        h.Client
            .Enqueue(r => r.Throw(new InvalidOperationException(wording)))
            .Enqueue(r => r.Text("the summary").Usage(300, 30))
            .Enqueue(r => r.Text("answer after compaction").Usage(200, 20));

        var events = await h.ChatAsync(session.Id, "the pending request");

        events.OfType<CompactionFinished>().Should().ContainSingle();
        var completed = events.OfType<TurnCompleted>().Single();
        completed.ExitReason.Value.Should().Be("completed");
        completed.Message.Text.Should().Be("answer after compaction");
        var retried = h.Client.Calls[3].Messages;
        retried.Select(m => m.Text).Should().NotContain("earlier question");
        retried[^1].Text.Should().Be("the pending request");
        var messages = await h.Sessions.GetMessagesAsync(session.Id);
        messages.Should().ContainSingle(m => m.IsSummary);
        messages.Count(m => m.Role == ChatRole.User).Should().Be(2);
    }

    [Test]
    public async Task ChatStreamingAsync_OverflowAgainAfterCompaction_FailsWithoutCompactingTwice()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("earlier").Usage(10, 10));
        await h.ChatAsync(session.Id, "earlier question");
        var overflow = new HttpRequestException("Request too large", null, System.Net.HttpStatusCode.RequestEntityTooLarge);
        h.Client
            .Enqueue(r => r.Throw(overflow))
            .Enqueue(r => r.Text("the summary"))
            .Enqueue(r => r.Throw(overflow));

        var act = async () => await h.ChatAsync(session.Id, "huge request");

        (await act.Should().ThrowAsync<HttpRequestException>()).Which.Should().BeSameAs(overflow);
        h.Client.Calls.Should().HaveCount(4);
        (await h.Sessions.GetMessagesAsync(session.Id)).Last(m => m.Role == ChatRole.Assistant && !m.IsSummary)
            .Error!.Kind.Should().Be(MessageErrorKind.ContextOverflow);
    }

    [Test]
    public async Task SummarizeAsync_SummaryRequestItselfOverflows_ThrowsSessionTooLargeAndDeletesNothing()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("answer").Usage(10, 10));
        await h.ChatAsync(session.Id, "question");
        var before = await h.Sessions.GetMessagesAsync(session.Id);
        h.Client.Enqueue(r => r.Throw(new HttpRequestException("context_length_exceeded", null, System.Net.HttpStatusCode.BadRequest)));

        var act = async () => await h.Sessions.SummarizeAsync(session.Id);

        (await act.Should().ThrowAsync<AgentCoreException>()).Which.Message.Should().Contain("too large to compact").And.Contain(session.Id);
        var after = await h.Sessions.GetMessagesAsync(session.Id);
        after.Select(m => m.Id).Should().Equal(before.Select(m => m.Id));
        after.Should().NotContain(m => m.IsSummary);
    }

    [Test]
    public async Task SummarizeAsync_TwiceInARow_SecondFoldsTheFirstInsteadOfStacking()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("a1").Usage(10, 10));
        await h.ChatAsync(session.Id, "q1");
        h.Client.Enqueue(r => r.Text("first summary"));
        await h.Sessions.SummarizeAsync(session.Id);
        h.Client.Enqueue(r => r.Text("a2").Usage(10, 10));
        await h.ChatAsync(session.Id, "q2");
        h.Client.Enqueue(r => r.Text("second summary"));

        var second = await h.Sessions.SummarizeAsync(session.Id);

        var input = h.Client.Calls[^1].Messages.Select(m => m.Text).ToList();
        input.Should().Contain(t => t.Contains("first summary"));
        input.Should().NotContain("q1").And.NotContain("a1");
        input.Should().ContainInOrder("q2", "a2");
        second.IsSummary.Should().BeTrue();
        h.Client.Enqueue(r => r.Text("a3"));
        await h.ChatAsync(session.Id, "q3");
        var prompt = h.Client.Calls[^1].Messages.Select(m => m.Text).ToList();
        prompt.Should().ContainSingle(t => t.Contains("second summary"));
        prompt.Should().NotContain(t => t.Contains("first summary"));
    }

    [Test]
    public async Task SummarizeAsync_OldToolOutputsBeyondProtectedWindow_ArePrunedInPromptButKeptInStore()
    {
        await using var h = new EngineHarness(o => o.PruneProtectedTokens = 1_000, b => b.AddTool(EngineHarness.Tool("read", s => new string(s[0], 2_400))));
        var session = await h.Sessions.CreateAsync();
        h.Client
            .Enqueue(r => r.ToolCall("c1", "read", new { input = "a" }))
            .Enqueue(r => r.ToolCall("c2", "read", new { input = "b" }))
            .Enqueue(r => r.ToolCall("c3", "read", new { input = "c" }))
            .Enqueue(r => r.Text("read three files"));
        await h.ChatAsync(session.Id, "read a, b and c");
        h.Client.Enqueue(r => r.Text("summary"));

        await h.Sessions.SummarizeAsync(session.Id);

        // 2 400 characters ≈ 600 tokens each: c3 fits the 1 000-token window, c3 + c2 does not, so c2 and c1 are pruned.
        var summaryInput = h.Client.Calls[^1].Messages;
        var results = summaryInput.SelectMany(m => m.Contents).OfType<FunctionResultContent>().ToDictionary(r => r.CallId, r => r.Result as string);
        results.Keys.Should().BeEquivalentTo("c1", "c2", "c3");
        results["c3"].Should().Be(new string('c', 2_400));
        results["c1"].Should().Be(PromptConversion.PrunedOutput);
        results["c2"].Should().Be(PromptConversion.PrunedOutput);
        var calls = summaryInput.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Select(c => c.CallId);
        calls.Should().BeEquivalentTo(results.Keys, "every call keeps its result");

        var stored = (await h.Sessions.GetMessagesAsync(session.Id)).SelectMany(m => m.Parts).OfType<ToolPart>().ToDictionary(t => t.CallId);
        stored["c1"].Compacted.Should().BeTrue();
        stored["c1"].Output.Should().Be(new string('a', 2_400), "the stored output is kept");
        stored["c3"].Compacted.Should().BeFalse();
    }

    [Test]
    public async Task SummarizeAsync_WhileATurnRuns_ThrowsBusy()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var release = new TaskCompletionSource();
        var streaming = new TaskCompletionSource();
        h.Client.Enqueue(r => r.Text("partial").Then(() => streaming.SetResult()).WaitFor(release.Task).Text(" done"));
        var turn = h.ChatAsync(session.Id, "go");
        await streaming.Task;

        var act = async () => await h.Sessions.SummarizeAsync(session.Id);

        await act.Should().ThrowAsync<SessionBusyException>();
        release.SetResult();
        await turn;
    }
}
