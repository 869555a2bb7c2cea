using AgentCore.Testing;
using FluentAssertions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace AgentCore.Tests.Shared;

/// <summary>
/// Tool approval, budgets, the repeated-call guard and tool result metadata through <see cref="ISessionService"/> on a
/// real store, read back after a restart (a new service provider on the same database). A store's test project derives
/// a fixture that names the store.
/// </summary>
public abstract class GuardRailStoreTests
{
    private string _directory = null!;

    /// <summary>Puts AgentCore on the store under test (the same database for every provider of one test).</summary>
    protected abstract void UseStore(IAgentCoreBuilder builder);

    /// <summary>A folder for the data directory (usage history), deleted after the test.</summary>
    protected string Directory => _directory;

    [SetUp]
    public void CreateDirectory() => _directory = System.IO.Directory.CreateTempSubdirectory("agentcore-guardrails-").FullName;

    [TearDown]
    public virtual void DeleteDirectory() => System.IO.Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task ChatStreamingAsync_ApprovalAskedThenAnsweredAfterARestart_DecisionAndMetadataStored()
    {
        int runs = 0;
        var tool = new ApprovalRequiredAIFunction(AIFunctionFactory.Create(() =>
        {
            runs++;
            return new TextContent("removed") { AdditionalProperties = new AdditionalPropertiesDictionary { ["files"] = 2 } };
        }, "remove"));
        string sessionId;
        await using (var first = Build(tool, new ScriptedChatClient().Enqueue(r => r.ToolCall("c1", "remove").Usage(10, 1))))
        {
            var sessions = first.GetRequiredService<ISessionService>();
            sessionId = (await sessions.CreateAsync()).Id;
            (await sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Text = "clean" })).FinishReason.Should().Be("tool_calls");
        }

        await using var second = Build(tool, new ScriptedChatClient().Enqueue(r => r.Text("done").Usage(20, 1)));
        var service = second.GetRequiredService<ISessionService>();
        var request = (await service.GetPendingApprovalsAsync(sessionId)).Single();
        var reply = await service.ChatAsync(new ChatRequest { SessionId = sessionId, Contents = [request.CreateResponse(true, "ok")] });

        reply.Text.Should().Be("done");
        runs.Should().Be(1);
        var part = (await service.GetMessagesAsync(sessionId))[1].Parts.OfType<ToolPart>().Single();
        (part.State, part.Output, part.Approval?.Approved, part.Approval?.Reason).Should().Be((ToolState.Completed, "removed", true, "ok"));
        part.Metadata!["files"].GetInt32().Should().Be(2);
        (await service.GetPendingApprovalsAsync(sessionId)).Should().BeEmpty();
    }

    [Test]
    public async Task ChatStreamingAsync_BudgetSpentAndRepeatedCall_StoredWithTheirErrors()
    {
        var echo = AIFunctionFactory.Create((string input) => input, "echo");
        var client = new ScriptedChatClient()
            .Enqueue(r => r.ToolCall("b1", "echo", new { input = "x" }).Usage(1_000_000, 0))   // $1: the budget is spent
            .Enqueue(r => r.ToolCall("d1", "echo", new { input = "y" }))
            .Enqueue(r => r.ToolCall("d2", "echo", new { input = "y" }));
        await using var provider = Build(echo, client, o => o.DoomLoopThreshold = 2);
        var sessions = provider.GetRequiredService<ISessionService>();
        var session = await sessions.CreateAsync();

        var budget = await sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "one", Budget = new TurnBudget { MaxCostPerTurn = 0.5m } });
        var loop = await sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "two" });

        var stored = await sessions.GetMessagesAsync(session.Id);
        stored.Single(m => m.Id == budget.Id).Error!.Kind.Should().Be(MessageErrorKind.BudgetExceeded);
        stored.Single(m => m.Id == loop.Id).Error!.Kind.Should().Be(MessageErrorKind.DoomLoop);
        stored.Single(m => m.Id == loop.Id).Parts.OfType<ToolPart>().Select(t => t.State).Should().Equal(ToolState.Completed, ToolState.Error);
        (await sessions.GetAsync(session.Id)).Cost.Should().Be(1m);
    }

    private ServiceProvider Build(AIFunction tool, ScriptedChatClient client, Action<AgentCoreOptions>? configure = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddAgentCore(o =>
        {
            o.DataDirectory = _directory;
            o.DefaultModel = "test/model";
            o.GenerateTitles = false;
            o.IncludeEnvironment = false;
            o.IncludeContextFiles = false;
            configure?.Invoke(o);
        });
        builder.AddChatClient("test", client, [new ModelInfo("test", "model", 2_000_000, 1_000, new ModelPricing(1m, 1m))]);
        builder.AddTool(tool);
        UseStore(builder);
        return services.BuildServiceProvider();
    }
}
