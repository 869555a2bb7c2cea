namespace AgentCore;

/// <summary>Thrown when a provider or model reference resolves to nothing registered.</summary>
public sealed class ModelNotFoundException : AgentCoreException
{
    /// <summary>Creates the exception for the model that was asked for and the models that are registered.</summary>
    /// <param name="providerId">The provider asked for.</param>
    /// <param name="modelId">The model asked for.</param>
    /// <param name="available">The <c>provider/model</c> references that are registered.</param>
    public ModelNotFoundException(string providerId, string modelId, IEnumerable<string> available)
        : this(providerId, modelId, available.ToArray())
    {
    }

    private ModelNotFoundException(string providerId, string modelId, string[] available)
        : base($"Model '{providerId}/{modelId}' is not registered. Available: " +
               (available.Length == 0 ? "(none; register one with AddChatClient)" : string.Join(", ", available)) + ".")
    {
        ProviderId = providerId;
        ModelId = modelId;
        Available = available;
    }

    /// <summary>The provider id that was asked for.</summary>
    public string ProviderId { get; }

    /// <summary>The model id that was asked for.</summary>
    public string ModelId { get; }

    /// <summary>The registered models as <c>provider/model</c> references.</summary>
    public IReadOnlyList<string> Available { get; }
}
