using AgentCore.Testing;
using FluentAssertions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace AgentCore.Tests.Shared;

/// <summary>
/// Sub-agents in child sessions through <see cref="ISessionService"/> on a real store: the tool a model calls
/// (<c>AddSubAgent</c>), the child's messages kept in the child, listing a session's children, the usage rolled up (own vs
/// including children, exact after a crash), and the parent's lock and abort reaching the child. A restart is a new
/// service provider on the same data; a store that does not survive one (<see cref="Durable"/> false) keeps its provider.
/// A store's test project derives a fixture that names the store.
/// </summary>
public abstract class ChildSessionStoreTests
{
    // Guards a test against hanging forever when the engine regresses; never reached when it works.
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private static readonly SubAgentDefinition Researcher = new()
    {
        Name = "researcher",
        Description = "Looks things up.",
        Instructions = "Answer in one line.",
        Model = "sub/model",
    };

    private string _directory = null!;

    /// <summary>Puts AgentCore on the store under test (the same database for every provider of one test).</summary>
    protected abstract void UseStore(IAgentCoreBuilder builder);

    /// <summary>Whether the store keeps its data across service providers (false for the in-memory store).</summary>
    protected virtual bool Durable => true;

    /// <summary>A folder for the data directory (usage history), deleted after the test.</summary>
    protected string Directory => _directory;

    [SetUp]
    public void CreateDirectory() => _directory = System.IO.Directory.CreateTempSubdirectory("agentcore-children-").FullName;

    [TearDown]
    public virtual void DeleteDirectory() => System.IO.Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task AddSubAgent_ModelCallsIt_TurnRunsInAChildSessionAndItsUsageRollsUpSeparately()
    {
        // Parent model $1/M in and out; the sub-agent's model $2/M in, $4/M out.
        var parent = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("call_1", "researcher", new { prompt = "find the capital of France" }).Usage(1_000, 100))
            .EnqueueText("Paris, says my researcher.", input: 2_000, output: 10);
        var sub = new ScriptedChatClient().EnqueueText("Paris.", input: 500, output: 5);
        ServiceProvider provider = Build(parent, sub);
        try
        {
            var sessions = provider.GetRequiredService<ISessionService>();
            string parentId = (await sessions.CreateAsync()).Id;

            var reply = await sessions.ChatAsync(new ChatRequest { SessionId = parentId, Text = "capital of France?" });
            if (Durable)
            {
                await provider.DisposeAsync();
                provider = Build(parent, sub);
                sessions = provider.GetRequiredService<ISessionService>();
            }

            reply.Text.Should().Be("Paris, says my researcher.");
            var part = (await sessions.GetMessagesAsync(parentId))[1].Parts.OfType<ToolPart>().Single();
            (part.State, part.Output).Should().Be((ToolState.Completed, "Paris."));
            string childId = part.Metadata![ChildSessionExtensions.ChildSessionIdMetadataKey].GetString()!;
            var child = await sessions.GetAsync(childId);
            (child.ParentId, child.Metadata[ChildSessionExtensions.SubAgentMetadataKey], child.Title).Should().Be((parentId, "researcher", "researcher (sub-agent)"));
            var childMessages = await sessions.GetMessagesAsync(childId);
            childMessages.Select(static m => (m.Role, m.Text)).Should().Equal((ChatRole.User, "find the capital of France"), (ChatRole.Assistant, "Paris."));
            (childMessages[1].ProviderId, childMessages[1].ModelId).Should().Be(("sub", "model"));
            sub.Calls.Single().Options!.Instructions.Should().Be("Answer in one line.");
            (sub.Calls.Single().Options!.Tools ?? []).Should().NotContain(static t => t.Name == "researcher", "a sub-agent does not start sub-agents at the default depth");
            parent.Calls[0].Options!.Tools.Should().Contain(static t => t.Name == "researcher");

            var fork = await sessions.ForkAsync(parentId);
            var children = new List<SessionInfo>();
            await foreach (var c in sessions.ListChildrenAsync(parentId))
            {
                children.Add(c);
            }

            children.Select(static c => c.Id).Should().Equal([childId], "a fork has the parent id too but is no child");
            var usage = await sessions.GetUsageAsync(parentId);
            (usage.OwnTokens.Input, usage.OwnTokens.Output, usage.OwnCost).Should().Be((3_000L, 110L, 0.00311m));
            (usage.ChildrenTokens.Input, usage.ChildrenTokens.Output, usage.ChildrenCost, usage.Children).Should().Be((500L, 5L, 0.00102m, 1));
            (usage.TotalTokens.Input, usage.TotalCost).Should().Be((3_500L, 0.00413m));
            (await sessions.GetAsync(parentId)).Cost.Should().Be(0.00311m, "the parent's own totals hold its own usage only");
            (await sessions.GetUsageAsync(fork.Id)).Children.Should().Be(0);
        }
        finally
        {
            await provider.DisposeAsync();
        }
    }

    [Test]
    public async Task GetUsageAsync_ChildTurnCrashedBeforeItsTotals_ChildCountedFromItsMessages()
    {
        await using var provider = Build(new ScriptedChatClient(), new ScriptedChatClient());
        var sessions = provider.GetRequiredService<ISessionService>();
        var store = provider.GetRequiredService<ISessionStore>();
        string parentId = (await sessions.CreateAsync()).Id;
        var child = await sessions.CreateChildAsync(parentId, "researcher");
        var grandchild = await sessions.CreateChildAsync(child.Id, "researcher");
        // What a process killed in the middle of the child's turn leaves: its reply stored with the usage of its first
        // step, still open, and the child's totals never updated.
        var now = DateTimeOffset.UtcNow;
        await store.SaveMessageAsync(new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(),
            SessionId = grandchild.Id,
            Role = ChatRole.Assistant,
            CreatedAt = now,
            ProviderId = "sub",
            ModelId = "model",
            Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = "half an ans" }],
            Tokens = new TokenUsage(Input: 1_000_000, Output: 0, Reasoning: 0, CacheRead: 0, CacheWrite: 0),
            Cost = 2m,
        });

        var usage = await sessions.GetUsageAsync(parentId);

        (usage.ChildrenCost, usage.ChildrenTokens.Input, usage.Children).Should().Be((2m, 1_000_000L, 2));
        (usage.OwnCost, usage.TotalCost).Should().Be((0m, 2m));
        (await sessions.GetAsync(grandchild.Id)).Cost.Should().Be(0m, "the roll-up reads; it writes nothing");
    }

    [Test]
    public async Task AddSubAgent_ParentBusyThenAborted_ChildBusyMeanwhileAndItsTurnAbortedToo()
    {
        var parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var parent = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("call_1", "researcher", new { prompt = "take your time" }))
            .EnqueueText("after");
        var sub = new ScriptedChatClient().Enqueue(r => r.Text("thinking").Usage(10, 1).Then(() => parked.TrySetResult()).WaitForCancellation());
        await using var provider = Build(parent, sub);
        var sessions = provider.GetRequiredService<ISessionService>();
        string parentId = (await sessions.CreateAsync()).Id;
        var turn = ChatAsync(sessions, parentId, "go");
        await parked.Task.WaitAsync(HangGuard);
        string childId = await SingleChildAsync(sessions, parentId);

        var parentAgain = () => ChatAsync(sessions, parentId, "again");
        var childDirect = () => ChatAsync(sessions, childId, "hello child");
        await parentAgain.Should().ThrowAsync<SessionBusyException>();
        await childDirect.Should().ThrowAsync<SessionBusyException>("the child runs its turn inside the parent's");
        sessions.Abort(parentId).Should().BeTrue();
        var events = await turn.WaitAsync(HangGuard);

        events.OfType<TurnCompleted>().Single().ExitReason.Should().Be(ExitReason.Aborted);
        var childReply = (await sessions.GetMessagesAsync(childId))[1];
        (childReply.FinishReason, childReply.Text, childReply.CompletedAt is not null).Should().Be(("aborted", "thinking", true));
        var part = (await sessions.GetMessagesAsync(parentId))[1].Parts.OfType<ToolPart>().Single();
        (part.State, part.Error).Should().Be((ToolState.Error, "aborted"));
        (await sessions.GetUsageAsync(parentId)).ChildrenTokens.Input.Should().Be(10);
        (await sessions.ChatAsync(new ChatRequest { SessionId = parentId, Text = "free?" })).Text.Should().Be("after");
    }

    [Test]
    public async Task ChatStreamingAsync_ParentCancelledByItsCaller_ChildTurnAbortedToo()
    {
        var parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var parent = new ScriptedChatClient().Enqueue(r => r.ToolCall("call_1", "researcher", new { prompt = "take your time" }));
        var sub = new ScriptedChatClient().Enqueue(r => r.Text("thinking").Then(() => parked.TrySetResult()).WaitForCancellation());
        await using var provider = Build(parent, sub);
        var sessions = provider.GetRequiredService<ISessionService>();
        string parentId = (await sessions.CreateAsync()).Id;
        using var cancellation = new CancellationTokenSource();
        var turn = sessions.ChatAsync(new ChatRequest { SessionId = parentId, Text = "go" }, cancellation.Token);
        await parked.Task.WaitAsync(HangGuard);
        string childId = await SingleChildAsync(sessions, parentId);

        await cancellation.CancelAsync();

        await FluentActions.Awaiting(() => turn.WaitAsync(HangGuard)).Should().ThrowAsync<OperationCanceledException>();
        (await sessions.GetMessagesAsync(childId))[1].FinishReason.Should().Be("aborted");
        (await sessions.GetMessagesAsync(parentId))[1].Parts.OfType<ToolPart>().Single().Error.Should().Be("aborted");
    }

    [Test]
    public async Task Abort_ChildOnly_ChildAbortedAndTheParentsCallFailsNamingIt()
    {
        var parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var parent = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("call_1", "researcher", new { prompt = "take your time" }))
            .EnqueueText("The researcher was stopped.");
        var sub = new ScriptedChatClient().Enqueue(r => r.Text("thinking").Then(() => parked.TrySetResult()).WaitForCancellation());
        await using var provider = Build(parent, sub);
        var sessions = provider.GetRequiredService<ISessionService>();
        string parentId = (await sessions.CreateAsync()).Id;
        var turn = sessions.ChatAsync(new ChatRequest { SessionId = parentId, Text = "go" });
        await parked.Task.WaitAsync(HangGuard);
        string childId = await SingleChildAsync(sessions, parentId);

        sessions.Abort(childId).Should().BeTrue();
        var reply = await turn.WaitAsync(HangGuard);

        reply.Text.Should().Be("The researcher was stopped.");
        (await sessions.GetMessagesAsync(childId))[1].FinishReason.Should().Be("aborted");
        var part = (await sessions.GetMessagesAsync(parentId))[1].Parts.OfType<ToolPart>().Single();
        part.State.Should().Be(ToolState.Error);
        part.Error.Should().Contain("(aborted)").And.Contain(childId);
    }

    [Test]
    public async Task AddSubAgent_ChildTurnFails_CallFailsNamingTheChildAndTheParentGoesOn()
    {
        var parent = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("call_1", "researcher", new { prompt = "spend" }))
            .EnqueueText("The researcher ran out of budget.");
        var sub = new ScriptedChatClient().Enqueue(r => r.ToolCall("x", "nothing").Usage(1_000_000, 0)).EnqueueText("never asked");
        await using var provider = Build(parent, sub, Researcher with { Budget = new TurnBudget { MaxCostPerTurn = 1m } });
        var sessions = provider.GetRequiredService<ISessionService>();
        string parentId = (await sessions.CreateAsync()).Id;

        var reply = await sessions.ChatAsync(new ChatRequest { SessionId = parentId, Text = "go" });

        reply.Text.Should().Be("The researcher ran out of budget.");
        string childId = await SingleChildAsync(sessions, parentId);
        var part = (await sessions.GetMessagesAsync(parentId))[1].Parts.OfType<ToolPart>().Single();
        part.State.Should().Be(ToolState.Error);
        part.Error.Should().Contain("budget_exceeded").And.Contain(childId).And.Contain("MaxCostPerTurn");
        (await sessions.GetUsageAsync(parentId)).ChildrenCost.Should().Be(2m);
    }

    [Test]
    public async Task AddSubAgent_MaxDepthTwo_ChildGetsTheToolAndGrandchildDoesNot()
    {
        var parent = new ScriptedChatClient().Enqueue(r => r.ToolCall("p1", "researcher", new { prompt = "delegate" })).EnqueueText("top done");
        var sub = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("c1", "researcher", new { prompt = "deeper" }))   // the child delegates too
            .EnqueueText("leaf")                                                         // the grandchild answers
            .EnqueueText("child done");
        await using var provider = Build(parent, sub, Researcher with { MaxDepth = 2 });
        var sessions = provider.GetRequiredService<ISessionService>();
        string parentId = (await sessions.CreateAsync()).Id;

        await sessions.ChatAsync(new ChatRequest { SessionId = parentId, Text = "go" });

        string childId = await SingleChildAsync(sessions, parentId);
        string grandchildId = await SingleChildAsync(sessions, childId);
        sub.Calls[0].Options!.Tools.Should().Contain(static t => t.Name == "researcher");
        (sub.Calls[1].Options!.Tools ?? []).Should().NotContain(static t => t.Name == "researcher");
        (await sessions.GetMessagesAsync(grandchildId)).Last().Text.Should().Be("leaf");
        (await sessions.GetUsageAsync(parentId)).Children.Should().Be(2);
    }

    [Test]
    public async Task CreateChildAsync_BadArguments_ArgumentExceptionOrNotFound()
    {
        await using var provider = Build(new ScriptedChatClient(), new ScriptedChatClient());
        var sessions = provider.GetRequiredService<ISessionService>();
        string parentId = (await sessions.CreateAsync()).Id;

        var missing = () => sessions.CreateChildAsync("ses_missing", "researcher");
        var badName = () => sessions.CreateChildAsync(parentId, "bad name");
        var badId = () => sessions.CreateChildAsync("../x", "researcher");
        var badDepth = () => new ServiceCollection().AddAgentCore().AddSubAgent(Researcher with { MaxDepth = 0 });

        await missing.Should().ThrowAsync<SessionNotFoundException>();
        (await badName.Should().ThrowAsync<ArgumentException>()).Which.ParamName.Should().Be("agentName");
        (await badId.Should().ThrowAsync<ArgumentException>()).Which.ParamName.Should().Be("parentId");
        badDepth.Should().Throw<ArgumentException>().WithMessage("*'researcher'*MaxDepth = 0*");
        (await sessions.ListAsync(new SessionQuery { ParentId = parentId })).Sessions.Should().BeEmpty();
    }

    private static async Task<string> SingleChildAsync(ISessionService sessions, string parentId)
    {
        var children = new List<SessionInfo>();
        await foreach (var child in sessions.ListChildrenAsync(parentId))
        {
            children.Add(child);
        }

        return children.Should().ContainSingle().Subject.Id;
    }

    private static async Task<List<SessionEvent>> ChatAsync(ISessionService sessions, string sessionId, string text)
    {
        var events = new List<SessionEvent>();
        await foreach (var e in sessions.ChatStreamingAsync(new ChatRequest { SessionId = sessionId, Text = text }))
        {
            events.Add(e);
        }

        return events;
    }

    private ServiceProvider Build(ScriptedChatClient parent, ScriptedChatClient sub, SubAgentDefinition? agent = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddAgentCore(o =>
        {
            o.DataDirectory = _directory;
            o.DefaultModel = "test/model";
            o.GenerateTitles = false;
            o.IncludeEnvironment = false;
            o.IncludeContextFiles = false;
        });
        builder.AddChatClient("test", parent, [new ModelInfo("test", "model", 2_000_000, 1_000, new ModelPricing(1m, 1m))]);
        builder.AddChatClient("sub", sub, [new ModelInfo("sub", "model", 2_000_000, 1_000, new ModelPricing(2m, 4m))]);
        builder.AddSubAgent(agent ?? Researcher);
        UseStore(builder);
        return services.BuildServiceProvider();
    }
}
