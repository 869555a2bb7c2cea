namespace AgentCore;

/// <summary>What a tool source knows about the turn it is asked to supply tools for.</summary>
/// <param name="SessionId">The session running the turn.</param>
/// <param name="ProviderId">The provider of the model that will see the tools.</param>
/// <param name="ModelId">The model that will see the tools.</param>
public sealed record ToolContext(string SessionId, string ProviderId, string ModelId);
