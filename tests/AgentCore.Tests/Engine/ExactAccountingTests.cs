using System.Text.Json;
using AgentCore.Testing;
using FluentAssertions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

/// <summary>Exact accounting: the title call in the totals and history, aborted steps, long-context prices, tool result metadata.</summary>
[TestFixture(false)]
[TestFixture(true)]
public sealed class ExactAccountingTests(bool inMemory)
{
    // Guards a test against hanging forever when the engine regresses; never reached when it works.
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Test]
    public async Task ChatStreamingAsync_TitleCall_UsageAndCostInSessionTotalsAndHistory()
    {
        // The title model costs $2 in and $10 out per million: 1 000 in and 100 out are $0.003.
        var titles = new ScriptedChatClient().Enqueue(r => r.Text("A title").Usage(1_000, 100));
        await using var h = new EngineHarness(
            o => { o.GenerateTitles = true; o.TitleModel = "titles/namer"; },
            b => b.AddChatClient("titles", titles, [new ModelInfo("titles", "namer", 8_000, 1_000, new ModelPricing(2m, 10m))]),
            inMemory);
        h.Client.EnqueueText("Reply.", input: 10_000, output: 1_000);   // $0.03 + $0.015
        var session = await h.Sessions.CreateAsync();

        var reply = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "hello" });
        await ((SessionService)h.Services.GetRequiredService<ISessionService>()).BackgroundIdle().WaitAsync(HangGuard);

        var totals = await h.Sessions.GetAsync(session.Id);
        totals.Title.Should().Be("A title");
        reply.Cost.Should().Be(0.045m);
        totals.Cost.Should().Be(0.048m);
        totals.Tokens.Input.Should().Be(11_000);
        totals.Tokens.Output.Should().Be(1_100);
        var titleEntry = (await h.ReadHistoryAsync()).Where(e => e.ExitReason is not null).Single(e => e.Model == "namer");
        (titleEntry.Usage.PromptTokens, titleEntry.Usage.CompletionTokens, titleEntry.Cost.UsdByok).Should().Be((1_000L, 100L, 0.003m));
        titleEntry.ExitReason.Should().Be("completed");
    }

    [Test]
    public async Task RevertAsync_ThenUnrevert_TitleCallStaysInTheTotals()
    {
        // Reverting to the user message recounts the totals from the messages kept: the title's usage, which belongs
        // to no message, must survive that recount and the unrevert.
        var titles = new ScriptedChatClient().Enqueue(r => r.Text("A title").Usage(1_000, 100));
        await using var h = new EngineHarness(
            o => { o.GenerateTitles = true; o.TitleModel = "titles/namer"; },
            b => b.AddChatClient("titles", titles, [new ModelInfo("titles", "namer", 8_000, 1_000, new ModelPricing(2m, 10m))]),
            inMemory);
        h.Client.EnqueueText("Reply.", input: 10_000, output: 1_000);   // $0.045; the title $0.003
        var session = await h.Sessions.CreateAsync();
        await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "hello" });
        await ((SessionService)h.Services.GetRequiredService<ISessionService>()).BackgroundIdle().WaitAsync(HangGuard);
        var user = (await h.Sessions.GetMessagesAsync(session.Id)).First(m => m.Role == ChatRole.User);

        var reverted = await h.Sessions.RevertAsync(session.Id, user.Id);
        var unreverted = await h.Sessions.UnrevertAsync(session.Id);

        (reverted.Cost, reverted.Tokens.Input, reverted.Tokens.Output).Should().Be((0.003m, 1_000L, 100L));
        (unreverted.Cost, unreverted.Tokens.Input, unreverted.Tokens.Output).Should().Be((0.048m, 11_000L, 1_100L));
    }

    [Test]
    public async Task Abort_MidStep_StepFinishReasonIsAborted()
    {
        await using var h = new EngineHarness(inMemory: inMemory);
        var parked = EngineHarness.Signal();
        h.Client.Enqueue(r => r.Text("partial").Usage(10, 1).Then(() => parked.TrySetResult()).WaitForCancellation());
        var session = await h.Sessions.CreateAsync();
        var turn = h.ChatCapturingAsync(session.Id, "go");
        await parked.Task.WaitAsync(HangGuard);

        h.Sessions.Abort(session.Id).Should().BeTrue();
        var result = await turn.WaitAsync(HangGuard);

        result.Completed.ExitReason.Should().Be(ExitReason.Aborted);
        result.Completed.Message.FinishReason.Should().Be("aborted");
        result.Completed.Message.Parts.OfType<StepFinishPart>().Single().FinishReason.Should().Be("aborted");
        result.Events.OfType<StepFinished>().Single().FinishReason.Should().Be("aborted");
    }

    [Test]
    public async Task ChatStreamingAsync_ToolReturnsContentWithProperties_MetadataKeptOnThePart()
    {
        var tool = AIFunctionFactory.Create(() => new TextContent("done")
        {
            AdditionalProperties = new AdditionalPropertiesDictionary { ["exitCode"] = 0, ["file"] = "a.txt" },
        }, "work");
        await using var h = new EngineHarness(build: b => b.AddTool(tool), inMemory: inMemory);
        h.Client.Enqueue(r => r.ToolCall("c1", "work")).EnqueueText("ok");
        var session = await h.Sessions.CreateAsync();

        await h.ChatAsync(session.Id, "go");

        var part = (await h.Sessions.GetMessagesAsync(session.Id))[1].Parts.OfType<ToolPart>().Single();
        part.Output.Should().Be("done");
        part.Metadata.Should().NotBeNull();
        part.Metadata!["exitCode"].GetInt32().Should().Be(0);
        part.Metadata["file"].GetString().Should().Be("a.txt");
        h.Client.Calls[1].Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single().Result.Should().Be("done");
    }
}

/// <summary><see cref="UsageAccounting.Cost"/> to the 1e-9 USD on every usage shape, with and without a long-context tier.</summary>
public sealed class LongContextPricingTests
{
    private static readonly ModelPricing Sonnet = new(3m, 15m, 0.30m, 3.75m)
    {
        LongContextThreshold = 200_000,
        LongContext = new ModelPricing(6m, 22.50m, 0.60m, 7.50m),
    };

    [TestCase(150_000, 20_000, 20_000, 1_000, 0, "0.546")]                 // 190 000 prompt tokens: base tier
    [TestCase(200_000, 0, 0, 1, 0, "0.600015")]                              // exactly at the threshold: base tier
    [TestCase(200_001, 0, 0, 1, 0, "1.2000285")]                             // one above: every token at the long tier
    [TestCase(150_000, 40_000, 20_000, 2_000, 500, "1.119")]                 // 210 000 with cache read and write, reasoning inside output
    [TestCase(1, 1, 1, 1, 1, "0.00002205")]                                   // tiny shapes stay exact
    [TestCase(0, 250_000, 0, 3, 3, "0.1500675")]                             // all cached, long tier
    public void Cost_UsageShapes_ExactToTheNanoDollar(long input, long cacheRead, long cacheWrite, long output, long reasoning, string expected)
    {
        var usage = new TokenUsage(input, output, reasoning, cacheRead, cacheWrite);

        decimal cost = UsageAccounting.Cost(usage, Sonnet);

        decimal.Round(cost, 9).Should().Be(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
        cost.Should().Be(decimal.Round(cost, 9), "prices per million tokens leave no digits below 1e-9 here");
    }

    [Test]
    public void ModelPricing_ExistingConstructor_StillOneTier()
    {
        var pricing = new ModelPricing(3m, 15m);

        UsageAccounting.Cost(new TokenUsage(1_000_000, 0, 0, 0, 0), pricing).Should().Be(3m);
        pricing.LongContext.Should().BeNull();
    }

    [Test]
    public void AddChatClient_LongContextWithoutThreshold_ArgumentExceptionNamingTheModel()
    {
        var services = new ServiceCollection();
        var pricing = new ModelPricing(1m, 1m) { LongContext = new ModelPricing(2m, 2m) };

        var act = () => services.AddAgentCore().AddChatClient("p", new ScriptedChatClient(), [new ModelInfo("p", "m", 1_000, 100, pricing)]);

        act.Should().Throw<ArgumentException>().WithMessage("*'p/m'*threshold 0*");
    }
}
