using Anthropic;
using Microsoft.Extensions.AI;

namespace AgentCore.Samples.Web;

/// <summary>The model the sample talks to, as the page shows it (<c>GET /api/info</c>).</summary>
/// <param name="Model">The model as <c>provider/model</c>.</param>
/// <param name="Offline">Whether it is the offline demo model.</param>
/// <param name="Description">One sentence for people.</param>
internal sealed record ChatModelDescription(string Model, bool Offline, string Description);

/// <summary>The Claude model used when <c>ANTHROPIC_API_KEY</c> is set (section <c>Anthropic</c>); prices in USD per million tokens.</summary>
internal sealed class AnthropicSettings
{
    public string Model { get; set; } = "claude-sonnet-4-5";

    public int ContextWindow { get; set; } = 200_000;

    public int MaxOutputTokens { get; set; } = 8_192;

    public decimal InputPerMillion { get; set; } = 3m;

    public decimal OutputPerMillion { get; set; } = 15m;

    public decimal CacheReadPerMillion { get; set; } = 0.30m;

    public decimal CacheWritePerMillion { get; set; } = 3.75m;
}

/// <summary>Chooses the model: Claude when an Anthropic key is configured, the offline demo model otherwise.</summary>
internal static class ChatModels
{
    public const string AnthropicProviderId = "anthropic";

    public static ChatModelDescription Register(IAgentCoreBuilder agentCore, IConfiguration configuration)
    {
        string? apiKey = configuration["ANTHROPIC_API_KEY"];
        if (!string.IsNullOrWhiteSpace(apiKey))
        {
            var settings = configuration.GetSection("Anthropic").Get<AnthropicSettings>() ?? new AnthropicSettings();
            var model = new ModelInfo(AnthropicProviderId, settings.Model, settings.ContextWindow, settings.MaxOutputTokens, new ModelPricing(
                settings.InputPerMillion, settings.OutputPerMillion, settings.CacheReadPerMillion, settings.CacheWritePerMillion));

            // AgentCore retries transient failures itself (AgentCoreOptions.MaxRetries), so the SDK does not.
            agentCore.AddChatClient(AnthropicProviderId, _ => new AnthropicClient { ApiKey = apiKey, MaxRetries = 0 }.AsIChatClient(settings.Model), [model]);
            agentCore.Services.Configure<AgentCoreOptions>(options => options.DefaultModel ??= model.Reference);
            return new ChatModelDescription(model.Reference, Offline: false, $"Claude ({settings.Model}) through Anthropic's API.");
        }

        var wordDelay = TimeSpan.FromMilliseconds(configuration.GetValue("Demo:WordDelayMilliseconds", 30));
        // Titles are free here, so a session's cost is what its replies cost.
        ModelInfo[] models = [OfflineDemoChatClient.Model, OfflineDemoChatClient.TitleModel with { Pricing = ModelPricing.Free }];
        agentCore.AddChatClient(OfflineDemoChatClient.ProviderId, services => new OfflineDemoChatClient(
            services.GetRequiredService<TimeProvider>(), wordDelay, services.GetService<DemoTestHooks>() is { } hooks ? hooks.WaitForWordAsync : null), models);
        agentCore.Services.Configure<AgentCoreOptions>(options =>
        {
            options.DefaultModel ??= OfflineDemoChatClient.ProviderId + "/" + OfflineDemoChatClient.ChatModelId;
            options.TitleModel ??= OfflineDemoChatClient.ProviderId + "/" + OfflineDemoChatClient.TitleModelId;
        });
        return new ChatModelDescription(
            OfflineDemoChatClient.ProviderId + "/" + OfflineDemoChatClient.ChatModelId,
            Offline: true,
            "The offline demo model: not a real model, it repeats what you say (its prices are made up). Set ANTHROPIC_API_KEY to talk to Claude.");
    }
}
