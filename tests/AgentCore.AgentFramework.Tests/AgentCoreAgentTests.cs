using System.Text.Json;
using AgentCore.AgentFramework.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCore.AgentFramework.Tests;

/// <summary><see cref="AgentCoreAgent"/> through Agent Framework's own API: sessions, runs, streaming, restarts, busy and abort.</summary>
public sealed class AgentCoreAgentTests
{
    [Test]
    public async Task RunAsync_TextReply_ReturnsTextUsageCostAndAgentCoreProperties()
    {
        await using var h = new AgentHarness();
        h.Client.Enqueue(r => r.Text("Hello there.").Usage(input: 1_000, output: 100).Finish(ChatFinishReason.Stop));
        var session = await h.Agent.CreateSessionAsync();

        var response = await h.Agent.RunAsync("Say hello", session);

        response.Text.Should().Be("Hello there.");
        response.Usage!.InputTokenCount.Should().Be(1_000);
        response.Usage.OutputTokenCount.Should().Be(100);
        response.FinishReason.Should().Be(ChatFinishReason.Stop);
        string sessionId = ((AgentCoreAgentSession)session).SessionId;
        response.AdditionalProperties![AgentCoreAgentProperties.SessionId].Should().Be(sessionId);
        response.AdditionalProperties[AgentCoreAgentProperties.Cost].Should().Be(0.0045m, "1 000 input at $3/M + 100 output at $15/M");
        response.AdditionalProperties[AgentCoreAgentProperties.ExitReason].Should().Be("completed");
        response.AdditionalProperties[AgentCoreAgentProperties.Model].Should().Be("test/model-1");
        var messages = await h.Sessions.GetMessagesAsync(sessionId);
        messages.Select(m => m.Text).Should().Equal("Say hello", "Hello there.");
        response.ResponseId.Should().Be(messages[1].Id);
        response.AdditionalProperties[AgentCoreAgentProperties.MessageId].Should().Be(messages[1].Id);
        (await h.Sessions.GetAsync(sessionId)).Cost.Should().Be(0.0045m);
    }

    [Test]
    public async Task RunAsync_ModelCallsTool_ToolRunsOnceAndResponseHoldsCallResultAndFinalText()
    {
        await using var h = new AgentHarness();
        h.Client
            .Enqueue(r => r.ToolCall("call_1", "get_weather", new { city = "Oslo" }).Usage(input: 100, output: 10).Finish(ChatFinishReason.ToolCalls))
            .Enqueue(r => r.Text("It is sunny in Oslo.").Usage(input: 150, output: 8).Finish(ChatFinishReason.Stop));
        var session = await h.Agent.CreateSessionAsync();

        var response = await h.Agent.RunAsync("Weather in Oslo?", session);

        h.WeatherCalls.Should().Be(1);
        h.Client.Calls.Should().HaveCount(2);
        response.Messages.Select(m => m.Role).Should().Equal(ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant);
        var call = response.Messages[0].Contents.OfType<FunctionCallContent>().Should().ContainSingle().Subject;
        call.CallId.Should().Be("call_1");
        call.Name.Should().Be("get_weather");
        call.Arguments!["city"]!.ToString().Should().Be("Oslo");
        response.Messages[1].Contents.OfType<FunctionResultContent>().Should().ContainSingle()
            .Which.Result.Should().Be("21 °C and sunny in Oslo");
        response.Text.Should().Be("It is sunny in Oslo.");
        response.Usage!.InputTokenCount.Should().Be(250);
        response.Usage.OutputTokenCount.Should().Be(18);
    }

    [Test]
    public async Task RunStreamingAsync_ReasoningToolAndText_UpdatesAggregateToTheSameReplyAsTheStoredMessage()
    {
        await using var h = new AgentHarness();
        h.Client
            .Enqueue(r => r.Reasoning("Need the weather.").ToolCall("call_1", "get_weather", new { city = "Oslo" }).Usage(input: 100, output: 10))
            .Enqueue(r => r.TextChunks("It is sunny.", 4).Usage(input: 150, output: 8).Finish(ChatFinishReason.Stop));
        var session = await h.Agent.CreateSessionAsync();

        var updates = new List<AgentResponseUpdate>();
        await foreach (var update in h.Agent.RunStreamingAsync("Weather?", session))
        {
            updates.Add(update);
        }

        updates.Where(u => u.Role == ChatRole.Assistant).SelectMany(u => u.Contents).OfType<TextContent>().Select(t => t.Text)
            .Should().Equal("It i", "s su", "nny.");
        updates.Should().OnlyContain(u => u.RawRepresentation is SessionEvent);
        updates[^1].RawRepresentation.Should().BeOfType<TurnCompleted>();
        updates[^1].AdditionalProperties![AgentCoreAgentProperties.ExitReason].Should().Be("completed");

        var streamed = updates.ToAgentResponse();
        streamed.Text.Should().Be("It is sunny.");
        streamed.Usage!.InputTokenCount.Should().Be(250);
        streamed.Usage.OutputTokenCount.Should().Be(18);
        var contents = streamed.Messages.SelectMany(m => m.Contents).ToList();
        contents.OfType<TextReasoningContent>().Should().ContainSingle().Which.Text.Should().Be("Need the weather.");
        contents.OfType<FunctionCallContent>().Should().ContainSingle().Which.CallId.Should().Be("call_1");
        contents.OfType<FunctionResultContent>().Should().ContainSingle().Which.Result.Should().Be("21 °C and sunny in Oslo");
        streamed.Messages.Should().Contain(m => m.Role == ChatRole.Tool);
        updates[^1].AdditionalProperties![AgentCoreAgentProperties.SessionId].Should().Be(((AgentCoreAgentSession)session).SessionId);
        h.WeatherCalls.Should().Be(1);
    }

    [Test]
    public async Task CreateSessionAsync_Called_CreatesAnAgentCoreSession()
    {
        await using var h = new AgentHarness();

        var session = await h.Agent.CreateSessionAsync();

        var agentSession = session.Should().BeOfType<AgentCoreAgentSession>().Subject;
        AgentCoreIds.IsValidSessionId(agentSession.SessionId).Should().BeTrue();
        (await h.Store.GetSessionAsync(agentSession.SessionId)).Should().NotBeNull();
    }

    [Test]
    public async Task RunAsync_NoSession_CreatesOneAndNamesItInTheResponse()
    {
        await using var h = new AgentHarness();
        h.Client.EnqueueText("Hi.");

        var response = await h.Agent.RunAsync("Hello");

        string sessionId = (string)response.AdditionalProperties![AgentCoreAgentProperties.SessionId]!;
        (await h.Sessions.GetMessagesAsync(sessionId)).Select(m => m.Text).Should().Equal("Hello", "Hi.");
    }

    [Test]
    public async Task DeserializeSessionAsync_AfterRestart_ContinuesTheSameConversation()
    {
        await using var h = new AgentHarness();
        h.Client.EnqueueText("Nice to meet you, Ada.");
        var session = await h.Agent.CreateSessionAsync();
        await h.Agent.RunAsync("My name is Ada.", session);
        var serialized = await h.Agent.SerializeSessionAsync(session);
        string json = serialized.GetRawText();

        await h.RestartAsync();
        h.Client.EnqueueText("Your name is Ada.");
        var restored = await h.Agent.DeserializeSessionAsync(JsonDocument.Parse(json).RootElement);
        var response = await h.Agent.RunAsync("What is my name?", restored);

        json.Should().Be($$"""{"sessionId":"{{((AgentCoreAgentSession)session).SessionId}}"}""", "the session serializes to its AgentCore id only");
        ((AgentCoreAgentSession)restored).SessionId.Should().Be(((AgentCoreAgentSession)session).SessionId);
        response.Text.Should().Be("Your name is Ada.");
        var prompt = h.Client.Calls.Should().ContainSingle().Subject.Messages;
        prompt.Where(m => m.Role != ChatRole.System).Select(m => (m.Role, m.Text)).Should().Equal(
            (ChatRole.User, "My name is Ada."), (ChatRole.Assistant, "Nice to meet you, Ada."), (ChatRole.User, "What is my name?"));
    }

    [Test]
    public async Task SerializeSessionAsync_StateBagHoldsValues_RoundTripsThem()
    {
        await using var h = new AgentHarness();
        var session = await h.Agent.CreateSessionAsync();
        session.StateBag.SetValue("note", "kept");

        var restored = await h.Agent.DeserializeSessionAsync(await h.Agent.SerializeSessionAsync(session));

        restored.StateBag.GetValue<string>("note").Should().Be("kept");
    }

    [TestCase("""{"sessionId":"ses_../../etc"}""")]
    [TestCase("""{"sessionId":""}""")]
    [TestCase("""{"other":1}""")]
    [TestCase("""[1]""")]
    public async Task DeserializeSessionAsync_NotAValidSession_ThrowsArgumentException(string json)
    {
        await using var h = new AgentHarness();

        var act = async () => await h.Agent.DeserializeSessionAsync(JsonDocument.Parse(json).RootElement);

        await act.Should().ThrowAsync<ArgumentException>().WithParameterName("serializedState");
    }

    [Test]
    public async Task DeserializeSessionAsync_DeletedSession_ThrowsSessionNotFound()
    {
        await using var h = new AgentHarness();
        var session = await h.Agent.CreateSessionAsync();
        var serialized = await h.Agent.SerializeSessionAsync(session);
        await h.Sessions.DeleteAsync(((AgentCoreAgentSession)session).SessionId);

        var act = async () => await h.Agent.DeserializeSessionAsync(serialized);

        await act.Should().ThrowAsync<SessionNotFoundException>();
    }

    [Test]
    public async Task RunAsync_SessionRunningAnotherTurn_ThrowsSessionBusyAtOnce()
    {
        await using var h = new AgentHarness();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var streaming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Client.Enqueue(r => r.Text("Working").Then(() => streaming.TrySetResult()).WaitFor(release.Task).Text(" done."));
        var session = await h.Agent.CreateSessionAsync();
        var first = h.Agent.RunAsync("Long task", session);
        await streaming.Task;

        var second = async () => await h.Agent.RunAsync("Another", session);

        var thrown = await second.Should().ThrowAsync<SessionBusyException>();
        thrown.Which.SessionId.Should().Be(((AgentCoreAgentSession)session).SessionId);
        release.SetResult();
        (await first).Text.Should().Be("Working done.");
    }

    [Test]
    public async Task RunStreamingAsync_TokenCancelled_ThrowsOperationCanceledAndKeepsThePartialReplyClosed()
    {
        await using var h = new AgentHarness();
        h.Client.Enqueue(r => r.Text("Partial").WaitForCancellation());
        var session = await h.Agent.CreateSessionAsync();
        using var cancellation = new CancellationTokenSource();

        var act = async () =>
        {
            await foreach (var update in h.Agent.RunStreamingAsync("Go", session, cancellationToken: cancellation.Token))
            {
                if (update.Text == "Partial")
                {
                    await cancellation.CancelAsync();
                }
            }
        };

        await act.Should().ThrowAsync<OperationCanceledException>();
        var reply = (await h.Sessions.GetMessagesAsync(((AgentCoreAgentSession)session).SessionId))[^1];
        reply.Text.Should().Be("Partial");
        reply.CompletedAt.Should().NotBeNull();
        reply.Error!.Kind.Should().Be(MessageErrorKind.Aborted);
    }

    [Test]
    public async Task RunAsync_SessionAbortedThroughAgentCore_EndsWithExitReasonAborted()
    {
        await using var h = new AgentHarness();
        var streaming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Client.Enqueue(r => r.Text("Partial").Then(() => streaming.TrySetResult()).WaitForCancellation());
        var session = (AgentCoreAgentSession)await h.Agent.CreateSessionAsync();
        var run = h.Agent.RunAsync("Go", session);
        await streaming.Task;

        h.Sessions.Abort(session.SessionId).Should().BeTrue();
        var response = await run;

        response.AdditionalProperties![AgentCoreAgentProperties.ExitReason].Should().Be("aborted");
        response.Text.Should().Be("Partial");
    }

    [Test]
    public async Task RunAsync_SystemMessageInInput_ThrowsArgumentExceptionNamingTheRole()
    {
        await using var h = new AgentHarness();
        var session = await h.Agent.CreateSessionAsync();

        var act = async () => await h.Agent.RunAsync([new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "Hi")], session);

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("'system'");
        h.Client.Calls.Should().BeEmpty();
    }

    [Test]
    public async Task RunAsync_SessionOfAnotherAgent_ThrowsArgumentException()
    {
        await using var h = new AgentHarness();
        var foreign = await new ChatClientAgent(new ScriptedChatClient()).CreateSessionAsync();

        var act = async () => await h.Agent.RunAsync("Hi", foreign);

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("ChatClientAgentSession");
    }

    [Test]
    public async Task RunAsync_RunOptionsNameAModel_TheTurnUsesThatModel()
    {
        await using var h = new AgentHarness();
        h.TitleClient.EnqueueText("From the other model.");
        var session = await h.Agent.CreateSessionAsync();

        var response = await h.Agent.RunAsync("Hi", session, new AgentCoreAgentRunOptions { Model = "titles/title-1" });

        response.Text.Should().Be("From the other model.");
        response.AdditionalProperties![AgentCoreAgentProperties.Model].Should().Be("titles/title-1");
        h.Client.Calls.Should().BeEmpty();
    }

    [Test]
    public async Task GetSessionInfoAsync_TitlesOn_ReturnsTheTitleAgentCoreGenerated()
    {
        await using var h = new AgentHarness(o =>
        {
            o.GenerateTitles = true;
            o.TitleModel = "titles/title-1";
        });
        h.Client.EnqueueText("Paris.");
        h.TitleClient.EnqueueText("Capital of France");
        var session = await h.Agent.CreateSessionAsync();
        string sessionId = ((AgentCoreAgentSession)session).SessionId;
        var events = h.Services.GetRequiredService<ISessionEvents>();
        using var stop = new CancellationTokenSource();
        var subscription = events.SubscribeAsync(sessionId, stop.Token); // subscribed from this call on
        var titled = Task.Run(async () =>
        {
            await foreach (var e in subscription)
            {
                if (e is SessionUpdated { Session.HasDefaultTitle: false })
                {
                    return;
                }
            }
        });

        await h.Agent.RunAsync("Capital of France?", session);
        await titled.WaitAsync(TimeSpan.FromMinutes(1));

        var agent = (AgentCoreAgent)h.Agent;
        (await agent.GetSessionInfoAsync(session)).Title.Should().Be("Capital of France");
    }

    [Test]
    public async Task AddAIAgent_Registered_ResolvesTheSameAgentAsAIAgentAndAgentCoreAgentByName()
    {
        var services = new ServiceCollection();
        services.AddAgentCore(o => o.DataDirectory = Path.Combine(Path.GetTempPath(), "agentcore-maf-unused"))
            .UseInMemoryStore()
            .AddAIAgent("writer", o => o.Description = "Writes.");
        await using var provider = services.BuildServiceProvider();

        var agent = provider.GetRequiredKeyedService<AIAgent>("writer");

        agent.Should().BeSameAs(provider.GetRequiredKeyedService<AgentCoreAgent>("writer"));
        agent.Name.Should().Be("writer");
        agent.Description.Should().Be("Writes.");
        agent.GetService<AIAgentMetadata>()!.ProviderName.Should().Be("agentcore");
        agent.GetService<ISessionService>().Should().BeSameAs(provider.GetRequiredService<ISessionService>());
    }

    [Test]
    public async Task Constructor_ModelNotProviderSlashModel_ThrowsArgumentExceptionNamingIt()
    {
        await using var h = new AgentHarness();

        var act = () => new AgentCoreAgent(h.Sessions, new AgentCoreAgentOptions { Model = "gpt-4o" });

        act.Should().Throw<ArgumentException>().WithMessage("*'gpt-4o'*");
    }
}
