using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentCore;

/// <summary>The registration methods of <see cref="IAgentCoreBuilder"/>.</summary>
public static class AgentCoreBuilderExtensions
{
    /// <summary>
    /// Registers a provider: one <see cref="IChatClient"/>, created on first use, that serves <paramref name="models"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="providerId">The provider's id, the first half of <c>provider/model</c> references (no slash).</param>
    /// <param name="factory">Creates the client.</param>
    /// <param name="models">The models the client serves; each must name <paramref name="providerId"/> as its provider.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/>, <paramref name="factory"/>, <paramref name="models"/> or one of the models is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="providerId"/> is empty or contains '/', or <paramref name="models"/> is empty, lists a model twice, under another provider, or with a bad context window, output limit or price.</exception>
    /// <exception cref="InvalidOperationException">A provider with this id was already added.</exception>
    public static IAgentCoreBuilder AddChatClient(this IAgentCoreBuilder builder, string providerId, Func<IServiceProvider, IChatClient> factory, IEnumerable<ModelInfo> models)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(providerId);
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(models);
        if (providerId.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"The provider id '{providerId}' must not contain '/'.", nameof(providerId));
        }

        var list = models.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException($"Provider '{providerId}' must serve at least one model.", nameof(models));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var model in list)
        {
            ArgumentNullException.ThrowIfNull(model, nameof(models));
            if (model.ProviderId != providerId)
            {
                throw new ArgumentException($"Model '{model.Reference}' is listed under provider '{providerId}': its ProviderId must be '{providerId}'.", nameof(models));
            }

            if (string.IsNullOrWhiteSpace(model.ModelId) || !seen.Add(model.ModelId))
            {
                throw new ArgumentException($"Model id '{model.ModelId}' of provider '{providerId}' is empty or listed twice.", nameof(models));
            }

            if (model.ContextWindow <= 0 || model.MaxOutputTokens <= 0 || model.MaxOutputTokens > model.ContextWindow)
            {
                throw new ArgumentException(
                    $"Model '{model.Reference}' has ContextWindow {model.ContextWindow} and MaxOutputTokens {model.MaxOutputTokens}: both must be positive and MaxOutputTokens at most ContextWindow.",
                    nameof(models));
            }

            if (model.Pricing is null || model.Pricing.InputPerMillion < 0 || model.Pricing.OutputPerMillion < 0 ||
                model.Pricing.CacheReadPerMillion < 0 || model.Pricing.CacheWritePerMillion < 0)
            {
                throw new ArgumentException($"Model '{model.Reference}' has a negative or missing price.", nameof(models));
            }

            if (model.Pricing.LongContext is { } longContext && (model.Pricing.LongContextThreshold <= 0 || longContext.InputPerMillion < 0 ||
                longContext.OutputPerMillion < 0 || longContext.CacheReadPerMillion < 0 || longContext.CacheWritePerMillion < 0))
            {
                throw new ArgumentException(
                    $"Model '{model.Reference}' has a long-context tier with threshold {model.Pricing.LongContextThreshold} tokens or a negative price: the threshold must be above 0, the prices 0 or more.",
                    nameof(models));
            }
        }

        if (builder.Services.Any(d => d.ServiceType == typeof(ChatClientRegistration) &&
                                      d.ImplementationInstance is ChatClientRegistration r && r.ProviderId == providerId))
        {
            throw new InvalidOperationException($"A chat client is already registered for provider '{providerId}'.");
        }

        builder.Services.AddSingleton(new ChatClientRegistration(providerId, factory, list));
        return builder;
    }

    /// <summary>Registers a provider served by an existing <see cref="IChatClient"/> instance.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="providerId">The provider's id, the first half of <c>provider/model</c> references (no slash).</param>
    /// <param name="chatClient">The client that serves every model of the provider.</param>
    /// <param name="models">The models the client serves; each must name <paramref name="providerId"/> as its provider.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="providerId"/> or <paramref name="models"/> is not valid (see the other overload).</exception>
    /// <exception cref="InvalidOperationException">A provider with this id was already added.</exception>
    public static IAgentCoreBuilder AddChatClient(this IAgentCoreBuilder builder, string providerId, IChatClient chatClient, IEnumerable<ModelInfo> models)
    {
        ArgumentNullException.ThrowIfNull(chatClient);
        return builder.AddChatClient(providerId, _ => chatClient, models);
    }

    /// <summary>Registers a local tool. Its name must match <c>^[A-Za-z0-9_-]{1,64}$</c> and be unique.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="tool">The tool.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="tool"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A tool with the same name was already registered.</exception>
    public static IAgentCoreBuilder AddTool(this IAgentCoreBuilder builder, AIFunction tool)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(tool);
        ToolNames.Validate(tool.Name, nameof(tool));
        if (builder.Services.Any(d => d.ServiceType == typeof(FunctionRegistration) &&
                                      d.ImplementationInstance is FunctionRegistration r && r.Function.Name == tool.Name))
        {
            throw new InvalidOperationException($"A tool named '{tool.Name}' is already registered. Tool names must be unique.");
        }

        builder.Services.AddSingleton(new FunctionRegistration(tool));
        return builder;
    }

    /// <summary>Registers several local tools (see <see cref="AddTool"/>).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="tools">The tools.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/>, <paramref name="tools"/> or one of the tools is null.</exception>
    /// <exception cref="InvalidOperationException">Two tools, or a tool and one registered before, share a name.</exception>
    public static IAgentCoreBuilder AddTools(this IAgentCoreBuilder builder, IEnumerable<AIFunction> tools)
    {
        ArgumentNullException.ThrowIfNull(tools);
        foreach (var tool in tools)
        {
            builder.AddTool(tool);
        }

        return builder;
    }

    /// <summary>Registers a tool source of your own (a singleton).</summary>
    /// <typeparam name="T">The tool source; built by the container.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IAgentCoreBuilder AddToolSource<T>(this IAgentCoreBuilder builder)
        where T : class, IToolSource
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IToolSource, T>());
        return builder;
    }

    /// <summary>
    /// Registers a policy that picks tool calls needing a person's approval before they run (a singleton; see
    /// <see cref="IToolApprovalPolicy"/>). Several policies may be registered: a call needs approval when any says so.
    /// </summary>
    /// <typeparam name="T">The policy type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IAgentCoreBuilder AddToolApprovalPolicy<T>(this IAgentCoreBuilder builder)
        where T : class, IToolApprovalPolicy
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IToolApprovalPolicy, T>());
        return builder;
    }

    /// <summary>Registers a delegate that picks tool calls needing a person's approval before they run (see <see cref="IToolApprovalPolicy"/>).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="requiresApproval">Returns <see langword="true"/> for a call that needs approval.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="requiresApproval"/> is null.</exception>
    public static IAgentCoreBuilder AddToolApprovalPolicy(this IAgentCoreBuilder builder, Func<ToolApprovalContext, bool> requiresApproval)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(requiresApproval);
        builder.Services.AddSingleton<IToolApprovalPolicy>(new DelegateToolApprovalPolicy(requiresApproval));
        return builder;
    }

    /// <summary>Adds a section to the system prompt, after AgentCore's own (a singleton).</summary>
    /// <typeparam name="T">The section's provider; built by the container.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IAgentCoreBuilder AddSystemPromptProvider<T>(this IAgentCoreBuilder builder)
        where T : class, ISystemPromptProvider
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ISystemPromptProvider, T>());
        return builder;
    }

    /// <summary>Replaces the session store with <typeparamref name="T"/> (a singleton).</summary>
    /// <typeparam name="T">The store; built by the container.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IAgentCoreBuilder UseSessionStore<T>(this IAgentCoreBuilder builder)
        where T : class, ISessionStore
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<ISessionStore>();
        builder.Services.AddSingleton<ISessionStore, T>();
        return builder;
    }

    /// <summary>Replaces the session store with the one <paramref name="factory"/> creates (a singleton).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the store, on first use.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="factory"/> is null.</exception>
    public static IAgentCoreBuilder UseSessionStore(this IAgentCoreBuilder builder, Func<IServiceProvider, ISessionStore> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.RemoveAll<ISessionStore>();
        builder.Services.AddSingleton(factory);
        return builder;
    }

    /// <summary>Keeps sessions in memory only (<see cref="InMemorySessionStore"/>): for tests and throwaway sessions.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IAgentCoreBuilder UseInMemoryStore(this IAgentCoreBuilder builder) =>
        builder.UseSessionStore<InMemorySessionStore>();

    /// <summary>
    /// Replaces the model provider with <typeparamref name="T"/> (a singleton): it resolves <c>provider/model</c> references
    /// and lists the models instead of the clients registered with <c>AddChatClient</c>.
    /// </summary>
    /// <typeparam name="T">The provider; built by the container, so its constructor may take any registered service.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IAgentCoreBuilder UseModelProvider<T>(this IAgentCoreBuilder builder)
        where T : class, IModelProvider
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<IModelProvider>();
        builder.Services.AddSingleton<IModelProvider, T>();
        return builder;
    }

    /// <summary>Replaces the model provider with the one <paramref name="factory"/> creates (a singleton, created on first use).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the provider.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="factory"/> is null.</exception>
    public static IAgentCoreBuilder UseModelProvider(this IAgentCoreBuilder builder, Func<IServiceProvider, IModelProvider> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.RemoveAll<IModelProvider>();
        builder.Services.AddSingleton(factory);
        return builder;
    }

    /// <summary>Replaces the usage history with <typeparamref name="T"/> (a singleton).</summary>
    /// <typeparam name="T">The history; built by the container.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IAgentCoreBuilder UseSessionHistory<T>(this IAgentCoreBuilder builder)
        where T : class, ISessionHistory
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<ISessionHistory>();
        builder.Services.AddSingleton<ISessionHistory, T>();
        return builder;
    }

    /// <summary>Replaces the session busy lock (for example with one that holds across app instances).</summary>
    /// <typeparam name="T">The lock provider; built by the container.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IAgentCoreBuilder UseSessionLock<T>(this IAgentCoreBuilder builder)
        where T : class, ISessionLockProvider
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<ISessionLockProvider>();
        builder.Services.AddSingleton<ISessionLockProvider, T>();
        return builder;
    }
}
