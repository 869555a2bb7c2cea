namespace AgentCore;

/// <summary>A model call (step) finished.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="MessageId">The assistant message.</param>
/// <param name="Step">The 1-based step number within the turn.</param>
/// <param name="Tokens">The step's token usage.</param>
/// <param name="Cost">The step's cost in USD.</param>
/// <param name="FinishReason">Why the model stopped the step.</param>
public sealed record StepFinished(string SessionId, string MessageId, int Step, TokenUsage Tokens, decimal Cost, string? FinishReason)
    : SessionEvent(SessionId);
