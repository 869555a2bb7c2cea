using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>A model and the client that calls it.</summary>
/// <param name="Info">The model's limits and prices.</param>
/// <param name="ChatClient">The client to call it with; set <c>ChatOptions.ModelId</c> to <c>Info.ModelId</c>.</param>
public sealed record ResolvedModel(ModelInfo Info, IChatClient ChatClient);
