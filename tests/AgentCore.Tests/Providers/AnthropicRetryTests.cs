using Anthropic;
using AgentCore.Tests.Engine;
using AgentCore.Tests.Shared;
using Microsoft.Extensions.AI;

namespace AgentCore.Tests.Providers;

/// <summary>
/// Retries through the real Anthropic SDK against a local server. Its exceptions carry the status but not the response
/// headers, so AgentCore cannot honour a Retry-After itself; the SDK's own retries do (<c>retry-after-ms</c>, then
/// <c>retry-after</c>), and AgentCore does not retry an Anthropic HTTP or I/O failure again on top of them.
/// The SDK waits on the real clock: the server asks for 1 ms.
/// </summary>
public sealed class AnthropicRetryTests
{
    private static readonly ModelInfo Model = new("anthropic", "m", 200_000, 8_000, EngineHarness.Pricing);

    [Test]
    public async Task ChatStreamingAsync_Overloaded529_SdkRetriesAndAgentCoreAddsNone()
    {
        await using var server = await LocalHttpServer.StartAsync();
        server.EnqueueStatus(529, ProviderReplies.AnthropicError("overloaded_error", "Overloaded"), ("retry-after-ms", "1"))
              .EnqueueEvents(ProviderReplies.AnthropicText("recovered", 10, 2));
        await using var h = Harness(server, sdkMaxRetries: null);
        var session = await h.Sessions.CreateAsync();

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Error.Should().BeNull();
        server.Requests.Should().HaveCount(2);
        result.Events.OfType<Retrying>().Should().BeEmpty();
        result.Completed.Message.Text.Should().Be("recovered");
        result.Completed.Message.Tokens.Input.Should().Be(10);
    }

    [Test]
    public async Task ChatStreamingAsync_RateLimitedBeyondSdkRetries_EndsWithStatusWithoutAgentCoreRetries()
    {
        await using var server = await LocalHttpServer.StartAsync();
        for (int i = 0; i < 3; i++)
        {
            server.EnqueueStatus(429, ProviderReplies.AnthropicError("rate_limit_error", "Rate limited"), ("retry-after-ms", "1"), ("retry-after", "0"));
        }

        await using var h = Harness(server, sdkMaxRetries: null);
        var session = await h.Sessions.CreateAsync();

        var result = await h.ChatCapturingAsync(session.Id, "go");

        server.Requests.Should().HaveCount(3, "the SDK's first try and its 2 default retries; AgentCore's 6 would make 21");
        result.Events.OfType<Retrying>().Should().BeEmpty();
        h.Time.ArmedTimers.Should().Be(0);
        result.Error!.GetType().FullName.Should().Be("Anthropic.Exceptions.AnthropicRateLimitException");
        result.Completed.ExitReason.Should().Be(ExitReason.Error);
        var stored = (await h.Sessions.GetMessagesAsync(session.Id))[1];
        stored.Error!.Kind.Should().Be(MessageErrorKind.Api);
        stored.Error.StatusCode.Should().Be(429);
    }

    [Test]
    public async Task ChatStreamingAsync_SdkRetriesOff_ServiceUnavailableEndsTheTurnAtOnce()
    {
        await using var server = await LocalHttpServer.StartAsync();
        server.EnqueueStatus(503, ProviderReplies.AnthropicError("api_error", "Unavailable"), ("retry-after", "5"));
        await using var h = Harness(server, sdkMaxRetries: 0);
        var session = await h.Sessions.CreateAsync();

        var result = await h.ChatCapturingAsync(session.Id, "go");

        server.Requests.Should().ContainSingle("with MaxRetries = 0 on the Anthropic client nothing retries: AgentCore cannot see the Retry-After");
        result.Events.OfType<Retrying>().Should().BeEmpty();
        result.Completed.Message.Error!.StatusCode.Should().Be(503);
    }

    private static EngineHarness Harness(LocalHttpServer server, int? sdkMaxRetries)
    {
        // MaxRetries null: the SDK's default (2 retries).
        IChatClient client = new AnthropicClient { ApiKey = "test", BaseUrl = server.BaseAddress.ToString().TrimEnd('/'), MaxRetries = sdkMaxRetries }
            .AsIChatClient("m");
        return new EngineHarness(o => o.DefaultModel = "anthropic/m", b => b.AddChatClient("anthropic", client, [Model]));
    }
}
