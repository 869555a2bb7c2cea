using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AgentCore;

/// <summary>Registers AgentCore in an <see cref="IServiceCollection"/>.</summary>
public static class AgentCoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds AgentCore: <see cref="ISessionService"/> and its defaults — the file store, the model provider fed by
    /// <c>AddChatClient</c>, the tool registry (local tools first, then the MCP servers of <see cref="AgentCoreOptions.McpServers"/>
    /// and <c>AddMcpServer</c>, with <see cref="IMcpServers"/>), the JSONL usage history, the busy lock (with the file store, a <see cref="FileSessionLockProvider"/> in
    /// <c>&lt;DataDirectory&gt;/locks</c> that holds across processes; with any other store, an in-process one) and the event hub.
    /// Each default is registered with <c>TryAdd</c>, so a service registered before (or through the builder) wins.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets <see cref="AgentCoreOptions"/>; validated when first resolved.</param>
    /// <returns>A builder to add chat clients, tools and stores.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static IAgentCoreBuilder AddAgentCore(this IServiceCollection services, Action<AgentCoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var options = services.AddOptions<AgentCoreOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddAgentCoreServices(services, options);
    }

    /// <summary>
    /// Adds AgentCore (see <see cref="AddAgentCore(IServiceCollection, Action{AgentCoreOptions}?)"/>) with
    /// <see cref="AgentCoreOptions"/> bound from <paramref name="configuration"/>, then changed by <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">
    /// The section holding the settings, by their property names, for example <c>builder.Configuration.GetSection("AgentCore")</c>.
    /// Bound when the options are first built: a value of the wrong type, or one the validation refuses, fails when the host
    /// starts (or the first service is resolved) with an <see cref="OptionsValidationException"/> or <see cref="InvalidOperationException"/>
    /// naming the setting and the value. A bound list replaces its default.
    /// </param>
    /// <param name="configure">Changes the options after binding (code wins over configuration); may be null.</param>
    /// <returns>A builder to add chat clients, tools and stores.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configuration"/> is null.</exception>
    /// <example>
    /// <code>
    /// var builder = Host.CreateApplicationBuilder(args);
    /// builder.Services.AddAgentCore(builder.Configuration.GetSection("AgentCore"))
    ///     .AddChatClient("openai", chatClient, models);
    /// </code>
    /// </example>
    public static IAgentCoreBuilder AddAgentCore(this IServiceCollection services, IConfiguration configuration, Action<AgentCoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        var options = services.AddOptions<AgentCoreOptions>().Bind(configuration);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddAgentCoreServices(services, options);
    }

    private static AgentCoreBuilder AddAgentCoreServices(IServiceCollection services, OptionsBuilder<AgentCoreOptions> options)
    {
        // Defaults that depend on what was configured, applied after every Configure and binding, once.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<AgentCoreOptions>, AgentCoreDefaults>());
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AgentCoreOptions>, AgentCoreOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ISessionStore, FileSessionStore>();
        services.TryAddSingleton<ISessionHistory, JsonlSessionHistory>();
        services.TryAddSingleton<IModelProvider, ModelProvider>();
        services.TryAddSingleton<IToolRegistry, ToolRegistry>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IToolSource, FunctionToolSource>());
        services.AddMcpToolSource();
        services.TryAddSingleton(DefaultSessionLock);
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

    /// <summary>
    /// The defaults that depend on configuration: <see cref="AgentCoreOptions.DataDirectory"/> from the host's application
    /// name, and <see cref="AgentCoreOptions.ContextFileNames"/> when no list was given.
    /// </summary>
    internal static void ApplyDefaults(AgentCoreOptions options, IHostEnvironment? host)
    {
        if (!options.HasDataDirectory && !string.IsNullOrWhiteSpace(host?.ApplicationName))
        {
            options.DataDirectory = AgentCoreOptions.DefaultDataDirectory(host.ApplicationName);
        }

        if (options.ContextFileNames is { Count: 0 })
        {
            options.ContextFileNames = [AgentCoreOptions.DefaultContextFileName];
        }
    }

    /// <summary>Applies <see cref="ApplyDefaults"/> to the default options, after every Configure and binding (registered once, however often <c>AddAgentCore</c> is called).</summary>
    private sealed class AgentCoreDefaults(IHostEnvironment? host = null) : IPostConfigureOptions<AgentCoreOptions>
    {
        public void PostConfigure(string? name, AgentCoreOptions options)
        {
            if (name == Options.DefaultName)
            {
                ApplyDefaults(options, host);
            }
        }
    }

    /// <summary>
    /// The busy lock when none is registered: on the file store, a <see cref="FileSessionLockProvider"/> in
    /// <c>&lt;DataDirectory&gt;/locks</c>, so every process and service provider sharing the folder shares the lock; on
    /// any other store, the in-process lock. The abort poll waits on other processes, so it runs on real time, not on
    /// the app's <see cref="TimeProvider"/> (as the file store's lock-file retries do).
    /// </summary>
    private static ISessionLockProvider DefaultSessionLock(IServiceProvider services) =>
        services.GetRequiredService<ISessionStore>() is FileSessionStore files
            ? new FileSessionLockProvider(files.LockDirectory, TimeProvider.System)
            : new InProcessSessionLockProvider();

    private sealed class AgentCoreBuilder(IServiceCollection services) : IAgentCoreBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
