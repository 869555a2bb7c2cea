namespace AgentCore;

/// <summary>A model a provider serves, with its limits and prices.</summary>
public sealed record ModelInfo
{
    /// <summary>Creates a model description.</summary>
    /// <param name="providerId">The provider's id, as registered with <c>AddChatClient</c>.</param>
    /// <param name="modelId">The model id the provider's <c>IChatClient</c> understands.</param>
    /// <param name="contextWindow">The context window in tokens.</param>
    /// <param name="maxOutputTokens">The most tokens one reply may have.</param>
    /// <param name="pricing">The prices; null means free.</param>
    public ModelInfo(string providerId, string modelId, int contextWindow, int maxOutputTokens, ModelPricing? pricing = null)
    {
        ProviderId = providerId;
        ModelId = modelId;
        ContextWindow = contextWindow;
        MaxOutputTokens = maxOutputTokens;
        Pricing = pricing ?? ModelPricing.Free;
    }

    /// <summary>The provider's id, as registered with <c>AddChatClient</c>.</summary>
    public string ProviderId { get; init; }

    /// <summary>The model id the provider's <c>IChatClient</c> understands.</summary>
    public string ModelId { get; init; }

    /// <summary>The context window in tokens.</summary>
    public int ContextWindow { get; init; }

    /// <summary>The most tokens one reply may have.</summary>
    public int MaxOutputTokens { get; init; }

    /// <summary>The prices in USD per million tokens.</summary>
    public ModelPricing Pricing { get; init; }

    /// <summary>The <c>provider/model</c> reference of this model.</summary>
    public string Reference => ProviderId + "/" + ModelId;
}
