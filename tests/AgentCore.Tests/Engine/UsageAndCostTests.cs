using AgentCore.Tests.Fakes;
using FluentAssertions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

/// <summary>Usage per step into TokenUsage, priced in decimal; totals on the message and on the session.</summary>
public sealed class UsageAndCostTests
{
    // EngineHarness.Pricing: input $3, output $15, cache read $0.30, cache write $3.75 per million tokens.

    [Test]
    public async Task ChatStreamingAsync_CacheReadAndWriteTokens_ExactCostPerStepMessageAndSession()
    {
        await using var h = new EngineHarness(build: b => b.AddTool(EngineHarness.Tool("t", s => s)));
        var session = await h.Sessions.CreateAsync();
        // Step 1: 120 000 input of which 60 000 read from cache and 20 000 written to it; 10 000 output.
        // Step 2: 150 000 input of which 140 000 cached; 4 000 output of which 1 000 reasoning.
        h.Client
            .Enqueue(r => r.ToolCall("call_1", "t", new { input = "x" }).Usage(input: 120_000, output: 10_000, cachedInput: 60_000, cacheWrite: 20_000))
            .Enqueue(r => r.Text("done").Usage(input: 150_000, output: 4_000, cachedInput: 140_000, reasoning: 1_000))
            // Turn 2: 200 000 input, 180 000 read from cache and 20 000 written to it; 2 000 output.
            .Enqueue(r => r.Text("again").Usage(input: 200_000, output: 2_000, cachedInput: 180_000, cacheWrite: 20_000));

        var first = await h.ChatAsync(session.Id, "one");

        // Step 1: 40 000 × $3 + 10 000 × $15 + 60 000 × $0.30 + 20 000 × $3.75 = 0.12 + 0.15 + 0.018 + 0.075 = $0.363
        // Step 2: 10 000 × $3 +  4 000 × $15 + 140 000 × $0.30                  = 0.03 + 0.06 + 0.042         = $0.132
        var steps = first.OfType<StepFinished>().ToList();
        steps.Select(s => s.Tokens).Should().Equal(new TokenUsage(40_000, 10_000, 0, 60_000, 20_000), new TokenUsage(10_000, 4_000, 1_000, 140_000, 0));
        steps.Select(s => s.Cost).Should().Equal(0.363m, 0.132m);
        var message = first.OfType<TurnCompleted>().Single().Message;
        message.Parts.OfType<StepFinishPart>().Select(p => p.Cost).Should().Equal(0.363m, 0.132m);
        message.Cost.Should().Be(0.495m);
        message.Tokens.Should().Be(new TokenUsage(50_000, 14_000, 1_000, 200_000, 20_000));
        (await h.Sessions.GetMessagesAsync(session.Id))[1].Cost.Should().Be(0.495m);
        first.OfType<SessionUpdated>().Single().Session.Cost.Should().Be(0.495m);

        await h.ChatAsync(session.Id, "two");

        // Turn 2: 0 × $3 (200 000 − 180 000 − 20 000) + 2 000 × $15 + 180 000 × $0.30 + 20 000 × $3.75 = 0.03 + 0.054 + 0.075 = $0.159
        var totals = await h.Sessions.GetAsync(session.Id);
        totals.Cost.Should().Be(0.654m);
        totals.Tokens.Should().Be(new TokenUsage(50_000, 16_000, 1_000, 380_000, 40_000));
        totals.Tokens.Total.Should().Be(50_000 + 16_000 + 380_000 + 40_000);
        await foreach (var listed in h.Sessions.ListAsync())
        {
            listed.Cost.Should().Be(0.654m, "a listing shows spend without reading messages");
        }
    }

    [Test]
    public async Task ChatStreamingAsync_SeveralUsageContentsInOneStep_Summed()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Usage(input: 1_000, output: 0).Text("hi").Usage(input: 0, output: 500));

        var message = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "go" });

        message.Tokens.Should().Be(new TokenUsage(1_000, 500, 0, 0, 0));
        message.Cost.Should().Be(0.0105m);
    }

    [Test]
    public async Task ChatStreamingAsync_ProviderReportsNoUsage_CostsZeroAndLogsAtDebug()
    {
        var logs = new CapturingLoggerFactory();
        await using var h = new EngineHarness(build: b => b.Services.AddSingleton<ILoggerFactory>(logs));
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("no usage here"));

        var events = await h.ChatAsync(session.Id, "go");

        var message = events.OfType<TurnCompleted>().Single().Message;
        message.Tokens.Should().Be(TokenUsage.Zero);
        message.Cost.Should().Be(0m);
        events.OfType<StepFinished>().Single().Cost.Should().Be(0m);
        (await h.Sessions.GetAsync(session.Id)).Cost.Should().Be(0m);
        logs.Entries.Should().Contain(e => e.Level == LogLevel.Debug && e.Message.Contains("no usage", StringComparison.Ordinal) && e.Message.Contains("test/model-1", StringComparison.Ordinal));
        logs.Entries.Should().NotContain(e => e.Message.Contains("no usage here", StringComparison.Ordinal), "message contents are never logged");
    }

    [Test]
    public async Task ChatStreamingAsync_FreeModel_UsageCountedCostZero()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("free").Usage(1_000, 100));

        var message = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "go", Model = "test/model-2" });

        message.Tokens.Should().Be(new TokenUsage(1_000, 100, 0, 0, 0));
        message.Cost.Should().Be(0m);
    }

    [Test]
    public async Task ChatStreamingAsync_FailedTurn_UsageSoFarOnTheSession()
    {
        await using var h = new EngineHarness(build: b => b.AddTool(EngineHarness.Tool("t", s => s)));
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.ToolCall("call_1", "t", new { input = "x" }).Usage(1_000_000, 0))
            .Enqueue(r => r.Throw(new HttpRequestException("bad", null, System.Net.HttpStatusCode.BadRequest)));

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Error.Should().NotBeNull();
        result.Completed.Message.Cost.Should().Be(3m);
        (await h.Sessions.GetAsync(session.Id)).Cost.Should().Be(3m);
    }
}
