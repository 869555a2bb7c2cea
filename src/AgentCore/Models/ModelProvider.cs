using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>A provider registered with <c>AddChatClient</c>: its id, how to get its client, and its models.</summary>
internal sealed record ChatClientRegistration(string ProviderId, Func<IServiceProvider, IChatClient> Factory, IReadOnlyList<ModelInfo> Models);

/// <summary>
/// The default <see cref="IModelProvider"/>: the providers registered with <c>AddChatClient</c>, one
/// <see cref="IChatClient"/> per provider serving all its models, created on first use.
/// </summary>
internal sealed class ModelProvider : IModelProvider
{
    private readonly IServiceProvider _services;
    private readonly Dictionary<string, Provider> _providers = new(StringComparer.Ordinal);
    private readonly List<ModelInfo> _models = [];

    public ModelProvider(IServiceProvider services, IEnumerable<ChatClientRegistration> registrations)
    {
        _services = services;
        foreach (var registration in registrations)
        {
            if (_providers.ContainsKey(registration.ProviderId))
            {
                throw new InvalidOperationException($"The provider '{registration.ProviderId}' is registered twice with AddChatClient.");
            }

            _providers[registration.ProviderId] = new Provider(registration);
            _models.AddRange(registration.Models);
        }
    }

    public IReadOnlyList<ModelInfo> ListModels() => _models;

    public ValueTask<ResolvedModel> GetModelAsync(string providerId, string modelId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(providerId);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        if (!_providers.TryGetValue(providerId, out var provider) || !provider.Models.TryGetValue(modelId, out var info))
        {
            throw new ModelNotFoundException(providerId, modelId, _models.Select(static m => m.Reference));
        }

        return ValueTask.FromResult(new ResolvedModel(info, provider.GetClient(_services)));
    }

    /// <summary>Splits a <c>provider/model</c> reference at its first slash (model ids may contain slashes).</summary>
    public static (string ProviderId, string ModelId) ParseReference(string reference, string paramName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference, paramName);
        if (!IsReference(reference))
        {
            throw new ArgumentException($"'{reference}' is not a model reference: expected 'provider/model'.", paramName);
        }

        int slash = reference.IndexOf('/', StringComparison.Ordinal);
        return (reference[..slash], reference[(slash + 1)..]);
    }

    /// <summary>Whether <paramref name="reference"/> has a provider and a model around its first slash.</summary>
    public static bool IsReference(string reference)
    {
        int slash = reference.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && slash < reference.Length - 1;
    }

    private sealed class Provider(ChatClientRegistration registration)
    {
        private readonly Lock _gate = new();
        private IChatClient? _client;

        public Dictionary<string, ModelInfo> Models { get; } =
            registration.Models.ToDictionary(static m => m.ModelId, StringComparer.Ordinal);

        /// <summary>The provider's one client: the factory runs once, even when the first calls race (a failure is not cached).</summary>
        public IChatClient GetClient(IServiceProvider services)
        {
            if (Volatile.Read(ref _client) is { } client)
            {
                return client;
            }

            lock (_gate)
            {
                if (_client is null)
                {
                    var created = registration.Factory(services) ?? throw new InvalidOperationException(
                        $"The chat client factory of provider '{registration.ProviderId}' returned null.");
                    Volatile.Write(ref _client, created);
                }

                return _client;
            }
        }
    }
}
