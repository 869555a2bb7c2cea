namespace AgentCore;

/// <summary>Resolves <c>provider/model</c> references to a model description and a chat client.</summary>
public interface IModelProvider
{
    /// <summary>Resolves a model.</summary>
    /// <param name="providerId">The provider's id.</param>
    /// <param name="modelId">The model's id at that provider.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The model's description and the client to call it with.</returns>
    /// <exception cref="ModelNotFoundException">The provider or the model is not registered; the message lists what is.</exception>
    ValueTask<ResolvedModel> GetModelAsync(string providerId, string modelId, CancellationToken cancellationToken = default);

    /// <summary>Every model that can be resolved.</summary>
    /// <returns>Every model that can be resolved.</returns>
    IReadOnlyList<ModelInfo> ListModels();
}
