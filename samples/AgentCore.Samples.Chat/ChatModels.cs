using Anthropic;
using Microsoft.Extensions.AI;

namespace AgentCore.Samples.Chat;

/// <summary>
/// The models the sample registers: Claude through Anthropic's official SDK when <c>ANTHROPIC_API_KEY</c> is set,
/// otherwise the offline demo model.
/// </summary>
internal static class ChatModels
{
    public const string AnthropicProvider = "anthropic";
    public const string DefaultClaude = "claude-sonnet-4-5";
    public const string TitleClaude = "claude-haiku-4-5";

    /// <summary>
    /// The Claude models the sample knows, with their limits and list prices in USD per million tokens
    /// (input, output, cache read, cache write) as published by Anthropic when the sample was written.
    /// This is the sample's assumption: check the current figures before you rely on the cost line.
    /// </summary>
    public static IReadOnlyList<ModelInfo> Claude { get; } =
    [
        new(AnthropicProvider, "claude-sonnet-4-5", contextWindow: 200_000, maxOutputTokens: 64_000, new ModelPricing(3m, 15m, 0.30m, 3.75m)),
        new(AnthropicProvider, "claude-haiku-4-5", contextWindow: 200_000, maxOutputTokens: 64_000, new ModelPricing(1m, 5m, 0.10m, 1.25m)),
    ];

    /// <summary>
    /// Chooses the provider: Claude when an API key is given, otherwise the offline demo model. The key goes to the
    /// SDK and nowhere else: the sample never prints or logs it.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="modelId"/> is not a model the sample knows.</exception>
    public static ModelChoice Choose(string? apiKey, string? modelId)
    {
        if (string.IsNullOrWhiteSpace(apiKey))
        {
            if (modelId is not null)
            {
                throw new ArgumentException("--model picks a Claude model and needs ANTHROPIC_API_KEY; the offline demo has one model.");
            }

            return new ModelChoice(
                OfflineDemoChatClient.ProviderId,
                _ => new OfflineDemoChatClient(),
                [OfflineDemoChatClient.Model, OfflineDemoChatClient.TitleModel],
                OfflineDemoChatClient.Model.Reference,
                OfflineDemoChatClient.TitleModel.Reference,
                IsOfflineDemo: true);
        }

        modelId ??= DefaultClaude;
        if (Claude.All(m => m.ModelId != modelId))
        {
            throw new ArgumentException($"Unknown model '{modelId}'. The sample knows: {string.Join(", ", Claude.Select(m => m.ModelId))}.");
        }

        // The SDK's own retries stay on: they honour the server's Retry-After, which its exceptions hide from AgentCore,
        // and AgentCore does not retry Anthropic's HTTP failures again (docs/providers.md).
        // One client serves every Claude model: AgentCore sets ChatOptions.ModelId on each call.
        return new ModelChoice(
            AnthropicProvider,
            _ => new AnthropicClient { ApiKey = apiKey }.AsIChatClient(modelId),
            Claude,
            $"{AnthropicProvider}/{modelId}",
            $"{AnthropicProvider}/{TitleClaude}",
            IsOfflineDemo: false);
    }
}

/// <summary>The provider the sample registers and the models it uses.</summary>
/// <param name="ProviderId">The provider id.</param>
/// <param name="CreateClient">Creates the provider's <see cref="IChatClient"/> (once, on first use).</param>
/// <param name="Models">The models the client serves, with limits and prices.</param>
/// <param name="Model">The chat model, as <c>provider/model</c>.</param>
/// <param name="TitleModel">The model that writes session titles.</param>
/// <param name="IsOfflineDemo">Whether this is the offline demo model.</param>
internal sealed record ModelChoice(
    string ProviderId,
    Func<IServiceProvider, IChatClient> CreateClient,
    IReadOnlyList<ModelInfo> Models,
    string Model,
    string TitleModel,
    bool IsOfflineDemo)
{
    /// <summary>The chat model's description.</summary>
    public ModelInfo Info => Models.First(m => m.Reference == Model);
}
