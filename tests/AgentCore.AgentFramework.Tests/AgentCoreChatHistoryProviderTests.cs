using AgentCore.AgentFramework.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCore.AgentFramework.Tests;

/// <summary>
/// Agent Framework's <see cref="ChatClientAgent"/> (its own tool loop) with <see cref="AgentCoreChatHistoryProvider"/>:
/// the history lives in AgentCore's store and comes back on the next run and after a restart.
/// </summary>
public sealed class AgentCoreChatHistoryProviderTests
{
    private int _lookups;

    [Test]
    public async Task RunAsync_TwoRuns_FirstExchangePersistedAndSentWithTheSecond()
    {
        await using var h = new AgentHarness();
        var model = new ScriptedChatClient().EnqueueText("Nice to meet you, Ada.").EnqueueText("You are Ada.");
        var agent = NewAgent(h, model);
        var session = await agent.CreateSessionAsync();

        await agent.RunAsync("My name is Ada.", session);
        var response = await agent.RunAsync("Who am I?", session);

        response.Text.Should().Be("You are Ada.");
        model.Calls[1].Messages.Where(m => m.Role != ChatRole.System).Select(m => (m.Role, m.Text)).Should().Equal(
            (ChatRole.User, "My name is Ada."), (ChatRole.Assistant, "Nice to meet you, Ada."), (ChatRole.User, "Who am I?"));
        string sessionId = Provider(h).GetSessionId(session);
        var stored = await h.Store.GetMessagesAsync(sessionId);
        stored.Select(m => (m.Role, m.Text)).Should().Equal(
            (ChatRole.User, "My name is Ada."), (ChatRole.Assistant, "Nice to meet you, Ada."),
            (ChatRole.User, "Who am I?"), (ChatRole.Assistant, "You are Ada."));
        stored.Should().OnlyContain(m => m.CompletedAt != null);
        var info = await h.Sessions.GetAsync(sessionId);
        info.HasDefaultTitle.Should().BeTrue("AgentCore lists the conversation like any of its sessions");
    }

    [Test]
    public async Task RunAsync_AgentCallsTool_StoredAsOneAssistantMessageWithACompletedToolPartAndReplayed()
    {
        await using var h = new AgentHarness();
        var model = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("call_1", "lookup", new { city = "Oslo" }).Usage(input: 100, output: 10))
            .Enqueue(r => r.Text("It is sunny in Oslo.").Usage(input: 150, output: 8))
            .EnqueueText("Still sunny.");
        var agent = NewAgent(h, model, [AIFunctionFactory.Create(Lookup, "lookup")]);
        var session = await agent.CreateSessionAsync();

        await agent.RunAsync("Weather in Oslo?", session);
        await agent.RunAsync("And now?", session);

        _lookups.Should().Be(1, "the tool ran in the agent's own loop, once");
        var stored = await h.Store.GetMessagesAsync(Provider(h).GetSessionId(session));
        stored.Select(m => m.Role).Should().Equal(ChatRole.User, ChatRole.Assistant, ChatRole.User, ChatRole.Assistant);
        var tool = stored[1].Parts.OfType<ToolPart>().Should().ContainSingle().Subject;
        tool.CallId.Should().Be("call_1");
        tool.ToolName.Should().Be("lookup");
        tool.State.Should().Be(ToolState.Completed);
        tool.Output.Should().Be("sunny in Oslo");
        tool.Arguments!.Value.GetProperty("city").GetString().Should().Be("Oslo");
        stored[1].Text.Should().Be("It is sunny in Oslo.");

        var replayed = model.Calls[2].Messages.Where(m => m.Role != ChatRole.System).ToList();
        replayed.Select(m => m.Role).Should().Equal(ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant, ChatRole.User);
        replayed[1].Contents.OfType<FunctionCallContent>().Should().ContainSingle().Which.CallId.Should().Be("call_1");
        replayed[2].Contents.OfType<FunctionResultContent>().Should().ContainSingle().Which.Result.Should().Be("sunny in Oslo");
    }

    [Test]
    public async Task RunAsync_ChatClientAgentWithUsage_SessionTokensStayZeroAndResponseCarriesTheUsage()
    {
        // What docs/agent-framework.md says: ChatClientAgent moves the usage into AgentResponse.Usage and hands the
        // history provider none, so the session's token totals stay zero (this fails if Agent Framework changes that).
        await using var h = new AgentHarness();
        var model = new ScriptedChatClient()
            .EnqueueText("Hello.", input: 100, output: 10)
            .Enqueue(r => r.Text("Hello again.").Usage(input: 150, output: 8));
        var agent = NewAgent(h, model);
        var session = await agent.CreateSessionAsync();

        var response = await agent.RunAsync("Hi", session);
        await foreach (var update in agent.RunStreamingAsync("Hi again", session))
        {
            _ = update;
        }

        response.Usage!.InputTokenCount.Should().Be(100);
        string sessionId = Provider(h).GetSessionId(session);
        (await h.Store.GetMessagesAsync(sessionId)).Should().HaveCount(4);
        var info = await h.Sessions.GetAsync(sessionId);
        info.Tokens.Total.Should().Be(0);
        info.Cost.Should().Be(0m);
    }

    [Test]
    public async Task DeserializeSessionAsync_AfterRestart_HistoryLoadedFromTheStoreAndStateIsTheSessionIdOnly()
    {
        await using var h = new AgentHarness();
        var before = NewAgent(h, new ScriptedChatClient().EnqueueText("Noted: the code is 7412."));
        var session = await before.CreateSessionAsync();
        await before.RunAsync("Remember the code 7412.", session);
        string sessionId = Provider(h).GetSessionId(session);
        string json = (await before.SerializeSessionAsync(session)).GetRawText();

        await h.RestartAsync();
        var model = new ScriptedChatClient().EnqueueText("The code is 7412.");
        var after = NewAgent(h, model);
        var restored = await after.DeserializeSessionAsync(System.Text.Json.JsonDocument.Parse(json).RootElement);
        await after.RunAsync("What is the code?", restored);

        json.Should().Contain(sessionId).And.NotContain("7412", "the history is in the store, not in the serialized session");
        Provider(h).GetSessionId(restored).Should().Be(sessionId);
        model.Calls.Should().ContainSingle().Which.Messages.Should().Contain(m => m.Role == ChatRole.User && m.Text == "Remember the code 7412.");
    }

    [Test]
    public async Task SetSessionId_InvalidId_ThrowsArgumentException()
    {
        await using var h = new AgentHarness();
        var session = await NewAgent(h, new ScriptedChatClient()).CreateSessionAsync();

        var act = () => Provider(h).SetSessionId(session, "../outside");

        act.Should().Throw<ArgumentException>().WithMessage("*../outside*");
    }

    [Test]
    public async Task SetSessionId_AgentCoreSession_ChatClientAgentContinuesItsHistory()
    {
        await using var h = new AgentHarness();
        h.Client.EnqueueText("Hello from AgentCore.");
        var coreSession = await h.Agent.CreateSessionAsync();
        await h.Agent.RunAsync("Hi", coreSession);
        var model = new ScriptedChatClient().EnqueueText("Hello from MAF.");
        var agent = NewAgent(h, model);
        var session = await agent.CreateSessionAsync();

        Provider(h).SetSessionId(session, ((AgentCoreAgentSession)coreSession).SessionId);
        await agent.RunAsync("Again", session);

        model.Calls.Single().Messages.Where(m => m.Role != ChatRole.System).Select(m => m.Text).Should().Equal("Hi", "Hello from AgentCore.", "Again");
        (await h.Sessions.GetMessagesAsync(((AgentCoreAgentSession)coreSession).SessionId)).Should().HaveCount(4);
    }

    private static AgentCoreChatHistoryProvider Provider(AgentHarness h) => h.Services.GetRequiredService<AgentCoreChatHistoryProvider>();

    private static ChatClientAgent NewAgent(AgentHarness h, IChatClient model, IList<AITool>? tools = null) =>
        new(model, new ChatClientAgentOptions
        {
            Name = "maf",
            ChatOptions = new ChatOptions { Instructions = "You are helpful.", Tools = tools },
            ChatHistoryProvider = Provider(h),
        });

    [System.ComponentModel.Description("Looks up the weather.")]
    private string Lookup(string city)
    {
        Interlocked.Increment(ref _lookups);
        return "sunny in " + city;
    }
}
