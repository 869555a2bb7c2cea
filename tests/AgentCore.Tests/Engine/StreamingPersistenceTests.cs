using System.Text.Json;
using AgentCore.Tests.Fakes;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

/// <summary>
/// What is stored while a reply streams: part and step boundaries at once, streamed text at most about once a
/// second, so a crash loses at most the last second and the store is not rewritten per token.
/// </summary>
public sealed class StreamingPersistenceTests
{
    [Test]
    public async Task ChatStreamingAsync_TextStreaming_StoreHoldsTheTextUpToTheLastSecond()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var beforeSecond = EngineHarness.Signal();
        var continueAfterFirst = EngineHarness.Signal();
        var afterSecond = EngineHarness.Signal();
        var finish = EngineHarness.Signal();
        h.Client.Enqueue(r => r
            .Text("Hello")
            .Text(", wor")
            .Then(() => beforeSecond.TrySetResult())
            .WaitFor(continueAfterFirst.Task)
            .Then(() => h.Time.Advance(TimeSpan.FromSeconds(1)))
            .Text("ld")
            .Text(" and more")
            .Then(() => afterSecond.TrySetResult())
            .WaitFor(finish.Task)
            .Text("!"));

        var turn = h.ChatCapturingAsync(session.Id, "go");

        await beforeSecond.Task;
        var early = await StoredReplyAsync(h, session.Id);
        early.Text.Should().Be("Hello", "the new part is stored with its first text; the rest waits for the second to pass");
        early.CompletedAt.Should().BeNull();

        continueAfterFirst.TrySetResult();
        await afterSecond.Task;
        var later = await StoredReplyAsync(h, session.Id);
        later.Text.Should().Be("Hello, world", "a second passed before \"ld\": everything up to it is stored");
        later.CompletedAt.Should().BeNull();

        finish.TrySetResult();
        (await turn).Error.Should().BeNull();
        (await StoredReplyAsync(h, session.Id)).Text.Should().Be("Hello, world and more!");
    }

    [Test]
    public async Task ChatStreamingAsync_ToolRunning_CallAndTextBeforeItAlreadyStored()
    {
        var running = EngineHarness.Signal();
        var release = EngineHarness.Signal();
        var tool = AIFunctionFactory.Create(async () =>
        {
            running.TrySetResult();
            await release.Task;
            return "result";
        }, "wait");
        await using var h = new EngineHarness(build: b => b.AddTool(tool));
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("Let me ").Text("check.").ToolCall("call_1", "wait").Usage(10, 5)).EnqueueText("ok");

        var turn = h.ChatCapturingAsync(session.Id, "go");
        await running.Task;

        var stored = await StoredReplyAsync(h, session.Id);
        stored.Text.Should().Be("Let me check.", "text is flushed at the part boundary");
        var part = stored.Parts.OfType<ToolPart>().Single();
        part.State.Should().Be(ToolState.Running);
        part.StartedAt.Should().NotBeNull();
        stored.Parts.OfType<StepFinishPart>().Single().Tokens.Should().Be(new TokenUsage(10, 5, 0, 0, 0));
        stored.Tokens.Should().Be(new TokenUsage(10, 5, 0, 0, 0), "a finished step's usage is stored with it");

        release.TrySetResult();
        (await turn).Completed.ExitReason.Value.Should().Be("completed");
        (await StoredReplyAsync(h, session.Id)).Parts.OfType<ToolPart>().Single().State.Should().Be(ToolState.Completed);
    }

    [Test]
    public async Task ChatStreamingAsync_ManyChunksWithinOneSecond_StoreNotWrittenPerToken()
    {
        CountingSessionStore? counting = null;
        await using var h = new EngineHarness(build: b => b.UseSessionStore(_ => counting = new CountingSessionStore(new InMemorySessionStore())));
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.TextChunks(new string('a', 500), 1).Usage(10, 500));

        var events = await h.ChatAsync(session.Id, "go");

        events.OfType<TextDelta>().Should().HaveCount(500);
        counting!.PartWrites.Count(w => w.Appended is not null).Should().Be(1, "no second passed: the text is appended once, when the reply completes");
        counting.SavePartsCalls.Should().Be(2, "the new text part (with the step start), then the rest of the text, the step finish and the completion");
        counting.SavePartCalls.Should().Be(0);
        counting.SaveMessageCalls.Should().Be(2, "the user message and the new assistant message");
        (await StoredReplyAsync(h, session.Id)).Text.Should().HaveLength(500);
    }

    [Test]
    public async Task ChatStreamingAsync_TenSecondsOfStreaming_AboutOneAppendPerSecond()
    {
        CountingSessionStore? counting = null;
        await using var h = new EngineHarness(build: b => b.UseSessionStore(_ => counting = new CountingSessionStore(new InMemorySessionStore())));
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r =>
        {
            r.Text("0");
            for (int i = 1; i < 100; i++)
            {
                r.Then(() => h.Time.Advance(TimeSpan.FromMilliseconds(100))).Text("x");
            }
        });

        await h.ChatAsync(session.Id, "go");

        counting!.PartWrites.Count(w => w.Appended is not null).Should().BeInRange(9, 11, "100 chunks over 10 s are stored about once a second");
        string.Concat(counting.PartWrites.Select(w => w.Appended)).Should().Be(new string('x', 99), "appends carry exactly the new text");
        (await StoredReplyAsync(h, session.Id)).Text.Should().Be("0" + new string('x', 99));
    }

    [Test]
    public async Task ChatStreamingAsync_FileStore_JournalStaysWithinThreeTimesTheFinalMessage()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r =>
        {
            for (int i = 0; i < 400; i++)
            {
                r.Text($"token{i:D4} ");
                if (i % 20 == 19)
                {
                    r.Then(() => h.Time.Advance(TimeSpan.FromMilliseconds(500)));
                }
            }

            r.Usage(100, 400);
        });

        await h.ChatAsync(session.Id, "go");

        var reply = await StoredReplyAsync(h, session.Id);
        long messageBytes = JsonSerializer.SerializeToUtf8Bytes(reply, AgentCoreJson.Options).Length;
        long journalBytes = new FileInfo(Path.Combine(h.DataDirectory, "messages", session.Id + ".jsonl")).Length;
        await TestContext.Out.WriteLineAsync($"journal {journalBytes} bytes for a final message of {messageBytes} bytes ({(double)journalBytes / messageBytes:F2}x)");
        journalBytes.Should().BeLessThanOrEqualTo(3 * messageBytes);
        reply.Text.Should().HaveLength(400 * 10);
    }

    private static async Task<SessionMessage> StoredReplyAsync(EngineHarness h, string sessionId) =>
        (await h.Store.GetMessagesAsync(sessionId)).Single(m => m.Role == ChatRole.Assistant);
}
