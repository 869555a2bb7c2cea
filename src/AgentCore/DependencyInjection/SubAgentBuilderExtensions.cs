using Microsoft.Extensions.DependencyInjection;

namespace AgentCore;

/// <summary>Registers sub-agents: tools that run a turn in a child session of the calling session.</summary>
public static class SubAgentBuilderExtensions
{
    /// <summary>
    /// Offers <paramref name="agent"/> to the model as a tool named <see cref="SubAgentDefinition.Name"/> taking a
    /// <c>prompt</c>. Each call creates a child session of the calling session
    /// (<see cref="ChildSessionExtensions.CreateChildAsync"/>), runs one turn there with the prompt, and returns the
    /// child's reply; the call's part keeps the child's id under <see cref="ChildSessionExtensions.ChildSessionIdMetadataKey"/>.
    /// The child's messages, tokens and cost stay in the child: <see cref="ChildSessionExtensions.GetUsageAsync"/> rolls
    /// them up into the parent's. Aborting or cancelling the parent's turn ends the child's; a child turn that ends
    /// any other way than <c>completed</c> (an error, a budget, a tool waiting for approval in the child) is a failed call
    /// naming the child session.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="agent">The sub-agent.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="agent"/> is null.</exception>
    /// <exception cref="ArgumentException">The agent's name is not a valid tool name, its model is not <c>provider/model</c>, or its <see cref="SubAgentDefinition.MaxDepth"/> is below 1.</exception>
    public static IAgentCoreBuilder AddSubAgent(this IAgentCoreBuilder builder, SubAgentDefinition agent)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(agent);
        ToolNames.Validate(agent.Name, nameof(agent));
        ArgumentException.ThrowIfNullOrWhiteSpace(agent.Description, nameof(agent));
        if (agent.Model is not null)
        {
            ModelProvider.ParseReference(agent.Model, nameof(agent));
        }

        if (agent.MaxDepth < 1)
        {
            throw new ArgumentException($"Sub-agent '{agent.Name}': MaxDepth = {agent.MaxDepth}; it must be at least 1.", nameof(agent));
        }

        builder.Services.AddSingleton<IToolSource>(sp => new SubAgentToolSource(agent, sp));
        return builder;
    }
}
