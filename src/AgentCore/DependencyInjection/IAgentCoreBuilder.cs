using Microsoft.Extensions.DependencyInjection;

namespace AgentCore;

/// <summary>Configures AgentCore after <c>AddAgentCore</c>: chat clients, tools, stores and history.</summary>
public interface IAgentCoreBuilder
{
    /// <summary>The service collection AgentCore is registered in.</summary>
    IServiceCollection Services { get; }
}
