using System.ClientModel;
using System.ClientModel.Primitives;
using AgentCore.Tests.Engine;
using AgentCore.Tests.Shared;
using Microsoft.Extensions.AI;
using OpenAI;

namespace AgentCore.Tests.Providers;

/// <summary>
/// Retry-After through the real OpenAI SDK (Microsoft.Extensions.AI.OpenAI) against a local server: AgentCore reads the
/// headers of System.ClientModel's <see cref="ClientResultException"/> and never retries sooner than asked. AgentCore's
/// delays run on the fake clock; the SDK's own retries are off (<c>new ClientRetryPolicy(0)</c>, as the docs advise)
/// except where the default configuration is tested.
/// </summary>
public sealed class OpenAiRetryTests
{
    private static readonly ModelInfo Model = new("openai", "m", 128_000, 4_000, EngineHarness.Pricing);

    [Test]
    public async Task ChatStreamingAsync_Http429RetryAfterMs_SecondRequestOnlyAfterFakeClockPassedIt()
    {
        var time = new ObservedTimeProvider();
        await using var server = await LocalHttpServer.StartAsync(time);
        server.EnqueueStatus(429, ProviderReplies.OpenAiError("Rate limit reached"), ("retry-after-ms", "3000"), ("retry-after", "3"))
              .EnqueueEvents(ProviderReplies.OpenAiText("finally", 10, 2));
        await using var h = Harness(server, time, sdkRetries: false);
        var timers = RetryTests.TimersOf(time);
        var session = await h.Sessions.CreateAsync();

        var turn = h.ChatCapturingAsync(session.Id, "go");
        (await timers.ReadAsync()).Should().Be(TimeSpan.FromSeconds(3));
        time.Advance(TimeSpan.FromMilliseconds(2_999));
        server.Requests.Should().HaveCount(1, "the retry waits the whole retry-after-ms");
        time.Advance(TimeSpan.FromMilliseconds(1));
        var result = await turn;

        result.Error.Should().BeNull();
        server.Requests.Should().HaveCount(2);
        (server.Requests[1].ReceivedAt - server.Requests[0].ReceivedAt).Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(3));
        var retrying = result.Events.OfType<Retrying>().Should().ContainSingle().Which;
        retrying.Delay.Should().Be(TimeSpan.FromSeconds(3));
        retrying.Reason.Should().Be("ClientResultException (HTTP 429)");
        result.Completed.Message.Text.Should().Be("finally");
        result.Completed.ExitReason.Should().Be(ExitReason.Completed);
    }

    [Test]
    public async Task ChatStreamingAsync_Http503RetryAfterSeconds_WaitsThatLong()
    {
        var time = new ObservedTimeProvider();
        await using var server = await LocalHttpServer.StartAsync(time);
        server.EnqueueStatus(503, ProviderReplies.OpenAiError("Overloaded"), ("retry-after", "7"))
              .EnqueueEvents(ProviderReplies.OpenAiText("ok", 10, 1));
        await using var h = Harness(server, time, sdkRetries: false);
        var timers = RetryTests.TimersOf(time);
        var session = await h.Sessions.CreateAsync();

        var turn = h.ChatCapturingAsync(session.Id, "go");
        (await timers.ReadAsync()).Should().Be(TimeSpan.FromSeconds(7));
        time.Advance(TimeSpan.FromSeconds(6.9));
        server.Requests.Should().HaveCount(1);
        time.Advance(TimeSpan.FromSeconds(0.1));
        var result = await turn;

        result.Completed.ExitReason.Should().Be(ExitReason.Completed);
        result.Events.OfType<Retrying>().Single().Reason.Should().Be("ClientResultException (HTTP 503)");
        (server.Requests[1].ReceivedAt - server.Requests[0].ReceivedAt).Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(7));
    }

    [Test]
    public async Task ChatStreamingAsync_RetryAfterLongerThanMaxRetryDelay_EndsWithRetryDelayTooLongException()
    {
        var time = new ObservedTimeProvider();
        await using var server = await LocalHttpServer.StartAsync(time);
        server.EnqueueStatus(429, ProviderReplies.OpenAiError("Rate limit reached"), ("retry-after", "120"));
        await using var h = Harness(server, time, sdkRetries: false);
        var session = await h.Sessions.CreateAsync();

        var result = await h.ChatCapturingAsync(session.Id, "go");

        var error = result.Error.Should().BeOfType<RetryDelayTooLongException>().Which;
        error.RequestedDelay.Should().Be(TimeSpan.FromSeconds(120));
        error.MaxRetryDelay.Should().Be(TimeSpan.FromSeconds(60));
        error.InnerException.Should().BeOfType<ClientResultException>().Which.Status.Should().Be(429);
        error.Message.Should().Contain("00:02:00").And.Contain("MaxRetryDelay (00:01:00)");
        server.Requests.Should().ContainSingle();
        time.ArmedTimers.Should().Be(0);
        result.Events.OfType<Retrying>().Should().BeEmpty();
        result.Completed.ExitReason.Should().Be(ExitReason.Error);
        var stored = (await h.Sessions.GetMessagesAsync(session.Id))[1];
        stored.Error!.Kind.Should().Be(MessageErrorKind.Api);
        stored.Error.StatusCode.Should().Be(429);
        stored.Error.Message.Should().Be(error.Message);
    }

    [Test]
    public async Task ChatStreamingAsync_MaxRetryDelayRaised_LongRetryAfterWaited()
    {
        var time = new ObservedTimeProvider();
        await using var server = await LocalHttpServer.StartAsync(time);
        server.EnqueueStatus(429, ProviderReplies.OpenAiError("Rate limit reached"), ("retry-after", "120"))
              .EnqueueEvents(ProviderReplies.OpenAiText("ok", 10, 1));
        await using var h = Harness(server, time, sdkRetries: false, o => o.MaxRetryDelay = TimeSpan.FromMinutes(5));
        var timers = RetryTests.TimersOf(time);
        var session = await h.Sessions.CreateAsync();

        var turn = h.ChatCapturingAsync(session.Id, "go");
        (await timers.ReadAsync()).Should().Be(TimeSpan.FromSeconds(120));
        time.Advance(TimeSpan.FromSeconds(120));

        (await turn).Completed.ExitReason.Should().Be(ExitReason.Completed);
        server.Requests.Should().HaveCount(2);
    }

    [Test]
    public async Task ChatStreamingAsync_DefaultSdkConfiguration_SdkRetriesItselfAgentCoreAddsNone()
    {
        // The OpenAI SDK's default policy retries 3 times, waiting max(0.8 s × 2^n, Retry-After) on the real clock.
        var time = new ObservedTimeProvider();
        await using var server = await LocalHttpServer.StartAsync(time);
        server.EnqueueStatus(429, ProviderReplies.OpenAiError("Rate limit reached"), ("retry-after-ms", "1"))
              .EnqueueEvents(ProviderReplies.OpenAiText("ok", 10, 1));
        await using var h = Harness(server, time, sdkRetries: true);
        var session = await h.Sessions.CreateAsync();

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Error.Should().BeNull();
        server.Requests.Should().HaveCount(2);
        result.Events.OfType<Retrying>().Should().BeEmpty("the SDK's retry succeeded before AgentCore saw a failure");
        result.Completed.Message.Text.Should().Be("ok");
    }

    private static EngineHarness Harness(LocalHttpServer server, ObservedTimeProvider time, bool sdkRetries, Action<AgentCoreOptions>? configure = null)
    {
        var options = new OpenAIClientOptions { Endpoint = server.BaseAddress };
        if (!sdkRetries)
        {
            options.RetryPolicy = new ClientRetryPolicy(0);
        }

        IChatClient client = new OpenAIClient(new ApiKeyCredential("test"), options).GetChatClient("m").AsIChatClient();
        return new EngineHarness(
            o =>
            {
                o.DefaultModel = "openai/m";
                configure?.Invoke(o);
            },
            b => b.AddChatClient("openai", client, [Model]),
            time: time);
    }
}
