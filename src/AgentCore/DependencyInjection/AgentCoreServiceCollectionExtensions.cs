using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AgentCore;

/// <summary>Registers AgentCore in an <see cref="IServiceCollection"/>.</summary>
public static class AgentCoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds AgentCore: <see cref="ISessionService"/> and its defaults — the file store, the model provider fed by
    /// <c>AddChatClient</c>, the tool registry (local tools first, then the MCP servers of <see cref="AgentCoreOptions.McpServers"/>
    /// and <c>AddMcpServer</c>, with <see cref="IMcpServers"/>), the JSONL usage history, the in-process busy lock and the event hub.
    /// Each default is registered with <c>TryAdd</c>, so a service registered before (or through the builder) wins.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets <see cref="AgentCoreOptions"/>; validated when first resolved.</param>
    /// <returns>A builder to add chat clients, tools and stores.</returns>
    public static IAgentCoreBuilder AddAgentCore(this IServiceCollection services, Action<AgentCoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var options = services.AddOptions<AgentCoreOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AgentCoreOptions>, AgentCoreOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ISessionStore, FileSessionStore>();
        services.TryAddSingleton<ISessionHistory, JsonlSessionHistory>();
        services.TryAddSingleton<IModelProvider, ModelProvider>();
        services.TryAddSingleton<IToolRegistry, ToolRegistry>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IToolSource, FunctionToolSource>());
        services.AddMcpToolSource();
        services.TryAddSingleton<ISessionLockProvider, InProcessSessionLockProvider>();
        services.TryAddSingleton<SessionEventHub>();
        services.TryAddSingleton<AgentCoreInstrumentation>();
        services.TryAddSingleton<ISessionEvents>(static sp => sp.GetRequiredService<SessionEventHub>());
        services.TryAddSingleton<ISessionService, SessionService>();

        // The system prompt's sections, in order: base prompt, environment, context files; then the app's own.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISystemPromptProvider, BaseSystemPromptProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISystemPromptProvider, EnvironmentSystemPromptProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISystemPromptProvider, ContextFileSystemPromptProvider>());

        return new AgentCoreBuilder(services);
    }

    private sealed class AgentCoreBuilder(IServiceCollection services) : IAgentCoreBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}

/// <summary>Configures AgentCore after <c>AddAgentCore</c>: chat clients, tools, stores and history.</summary>
public interface IAgentCoreBuilder
{
    /// <summary>The service collection AgentCore is registered in.</summary>
    IServiceCollection Services { get; }
}
