namespace AgentCore;

/// <summary>What a <see cref="ISystemPromptProvider"/> knows about the turn it writes for.</summary>
/// <param name="Session">The session.</param>
/// <param name="Model">The model that will read the prompt.</param>
public sealed record SystemPromptContext(SessionInfo Session, ModelInfo Model);
