using Microsoft.Agents.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentCore;

/// <summary>Registers and creates AgentCore's Microsoft Agent Framework adapters.</summary>
public static class AgentFrameworkServiceExtensions
{
    /// <summary>
    /// Registers an <see cref="AgentCoreAgent"/> named <paramref name="name"/> as a keyed singleton, under that name, both
    /// as <see cref="AIAgent"/> and as <see cref="AgentCoreAgent"/> (the way Agent Framework's hosting registers agents):
    /// resolve it with <c>GetRequiredKeyedService&lt;AIAgent&gt;(name)</c>.
    /// </summary>
    /// <param name="builder">The builder from <c>AddAgentCore</c>.</param>
    /// <param name="name">The agent's name: its service key and its <see cref="AIAgent.Name"/> unless <paramref name="configure"/> sets another.</param>
    /// <param name="configure">Sets the agent's options; null for the defaults.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty or white space.</exception>
    public static IAgentCoreBuilder AddAIAgent(this IAgentCoreBuilder builder, string name, Action<AgentCoreAgentOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        builder.Services.AddKeyedSingleton(name, (sp, _) =>
        {
            var options = new AgentCoreAgentOptions { Name = name };
            configure?.Invoke(options);
            return new AgentCoreAgent(sp.GetRequiredService<ISessionService>(), options);
        });
        builder.Services.AddKeyedSingleton<AIAgent>(name, static (sp, key) => sp.GetRequiredKeyedService<AgentCoreAgent>(key));
        return builder;
    }

    /// <summary>
    /// Registers an <see cref="AgentCoreChatHistoryProvider"/> singleton over the registered <see cref="ISessionStore"/> and
    /// <see cref="TimeProvider"/>, for a <c>ChatClientAgent</c> whose <c>ChatHistoryProvider</c> it becomes.
    /// </summary>
    /// <param name="builder">The builder from <c>AddAgentCore</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static IAgentCoreBuilder AddChatHistoryProvider(this IAgentCoreBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(static sp => new AgentCoreChatHistoryProvider(sp.GetRequiredService<ISessionStore>(), sp.GetService<TimeProvider>()));
        return builder;
    }

    /// <summary>Creates an <see cref="AgentCoreAgent"/> over <paramref name="sessions"/> (like Agent Framework's <c>IChatClient.AsAIAgent</c>).</summary>
    /// <param name="sessions">The session service.</param>
    /// <param name="options">The agent's options; null for the defaults.</param>
    /// <returns>The agent.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sessions"/> is null.</exception>
    public static AgentCoreAgent AsAIAgent(this ISessionService sessions, AgentCoreAgentOptions? options = null) => new(sessions, options);
}
