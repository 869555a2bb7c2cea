using AgentCore.Testing;
using AgentCore.Tests.Fakes;
using Microsoft.Extensions.AI;

namespace AgentCore.Tests.Engine;

/// <summary>
/// The conversation a turn keeps for the session's next turn (<see cref="ConversationCache"/>): reused only while the
/// store's stamp of the messages is unchanged, and the next prompt the same as one built from the stored messages.
/// </summary>
public sealed class ConversationCacheTests
{
    [Test]
    public async Task ChatAsync_NothingWroteTheSessionBetweenTurns_MessagesNotReadAgain()
    {
        var store = new CountingSessionStore(new InMemorySessionStore(), stamps: true);
        await using var harness = new EngineHarness(build: b => b.UseSessionStore(_ => store));
        var session = await harness.Sessions.CreateAsync();
        harness.Client.EnqueueText("first reply").EnqueueText("second reply");

        await harness.ChatAsync(session.Id, "one");
        int readsAfterFirst = store.MessageReads;
        await harness.ChatAsync(session.Id, "two");

        store.MessageReads.Should().Be(readsAfterFirst, "the second turn starts from the conversation the first kept");
        Texts(harness.Client.Calls[^1].Messages).Should().Equal("one", "first reply", "two");
    }

    [Test]
    public async Task ChatAsync_StoreHasNoStamp_MessagesReadEveryTurn()
    {
        var store = new CountingSessionStore(new InMemorySessionStore(), stamps: false);
        await using var harness = new EngineHarness(build: b => b.UseSessionStore(_ => store));
        var session = await harness.Sessions.CreateAsync();
        harness.Client.EnqueueText("first reply").EnqueueText("second reply");

        await harness.ChatAsync(session.Id, "one");
        int readsAfterFirst = store.MessageReads;
        await harness.ChatAsync(session.Id, "two");

        store.MessageReads.Should().BeGreaterThan(readsAfterFirst);
    }

    [Test]
    public async Task ChatAsync_OtherProviderOnSameFilesTurnedBetween_ReloadsAndSeesItsMessages()
    {
        await using var first = new EngineHarness();
        await using var second = new EngineHarness(o => o.DataDirectory = first.DataDirectory);
        await TurnFirstSecondFirstAsync(first, second);
    }

    [Test]
    public async Task ChatAsync_OtherProviderOnSameInMemoryStoreTurnedBetween_ReloadsAndSeesItsMessages()
    {
        var shared = new InMemorySessionStore();
        await using var first = new EngineHarness(build: b => b.UseSessionStore(_ => shared));
        await using var second = new EngineHarness(build: b => b.UseSessionStore(_ => shared));
        await TurnFirstSecondFirstAsync(first, second);
    }

    /// <summary>Turns <paramref name="first"/>, <paramref name="second"/>, then <paramref name="first"/> again on one session.</summary>
    private static async Task TurnFirstSecondFirstAsync(EngineHarness first, EngineHarness second)
    {
        var session = await first.Sessions.CreateAsync();
        first.Client.EnqueueText("reply one").EnqueueText("reply three");
        second.Client.EnqueueText("reply two");

        await first.ChatAsync(session.Id, "one");
        await second.ChatAsync(session.Id, "two");
        await first.ChatAsync(session.Id, "three");

        Texts(first.Client.Calls[^1].Messages).Should().Equal("one", "reply one", "two", "reply two", "three");
    }

    [Test]
    public async Task ChatAsync_MessageDeletedDirectlyInStoreBetweenTurns_NextPromptLacksIt()
    {
        await using var harness = new EngineHarness();
        var session = await harness.Sessions.CreateAsync();
        harness.Client.EnqueueText("reply one").EnqueueText("reply two").EnqueueText("reply three");
        await harness.ChatAsync(session.Id, "one");
        await harness.ChatAsync(session.Id, "two");
        var stored = await harness.Store.GetMessagesAsync(session.Id);

        // Another writer (here the store itself) removes the second exchange behind the engine's back.
        await harness.Store.DeleteMessagesAsync(session.Id, [stored[2].Id, stored[3].Id]);
        await harness.ChatAsync(session.Id, "three");

        Texts(harness.Client.Calls[^1].Messages).Should().Equal("one", "reply one", "three");
    }

    [Test]
    public async Task ChatAsync_KeptConversationWithToolSteps_NextPromptEqualsOneBuiltFromTheStore()
    {
        var kept = await RunTwoTurnsWithToolsAsync(stamps: true);
        var rebuilt = await RunTwoTurnsWithToolsAsync(stamps: false);

        kept.Reads.Should().BeLessThan(rebuilt.Reads, "the kept conversation is used by the first run only");
        kept.Prompt.Should().Equal(rebuilt.Prompt);
        kept.Prompt.Should().Contain(["call:call_a", "call:call_b", "assistant:both done", "user:second"]);
        kept.Prompt.Where(static p => p.StartsWith("result:", StringComparison.Ordinal)).Should().HaveCount(2)
            .And.OnlyContain(static p => p.Contains(":A:ONE", StringComparison.Ordinal) || p.Contains(":B:DONE", StringComparison.Ordinal));
    }

    private static async Task<(List<string> Prompt, int Reads)> RunTwoTurnsWithToolsAsync(bool stamps)
    {
        var store = new CountingSessionStore(new InMemorySessionStore(), stamps);
        await using var harness = new EngineHarness(build: b =>
        {
            b.UseSessionStore(_ => store);
            b.AddTool(EngineHarness.Tool("upper", s => s.ToUpperInvariant()));
        });
        var session = await harness.Sessions.CreateAsync();
        harness.Client
            .Enqueue(r => r.ToolCall("call_a", "upper", new { input = "a:one" }))
            .Enqueue(r => r.ToolCall("call_b", "upper", new { input = "b:done" }))
            .EnqueueText("both done")
            .EnqueueText("second turn");

        await harness.ChatAsync(session.Id, "first");
        await harness.ChatAsync(session.Id, "second");

        return (Describe(harness.Client.Calls[^1].Messages), store.MessageReads);
    }

    /// <summary>The prompt without its system message, one string per content: what the model sees, ids of parts aside.</summary>
    private static List<string> Describe(IReadOnlyList<ChatMessage> prompt) =>
        [.. prompt.Where(static m => m.Role != ChatRole.System).SelectMany(static m => m.Contents.Select(c => c switch
        {
            TextContent text => $"{m.Role}:{text.Text}",
            FunctionCallContent call => $"call:{call.CallId}",
            FunctionResultContent result => $"result:{result.CallId}:{result.Result}",
            _ => c.GetType().Name,
        }))];

    private static List<string> Texts(IReadOnlyList<ChatMessage> prompt) =>
        [.. prompt.Where(static m => m.Role != ChatRole.System && !string.IsNullOrEmpty(m.Text)).Select(static m => m.Text)];
}
