namespace AgentCore;

/// <summary>Budgets of one turn (see <see cref="ChatRequest.Budget"/>): each set member overrides its <see cref="AgentCoreOptions"/> setting.</summary>
public sealed record TurnBudget
{
    /// <summary>Overrides <see cref="AgentCoreOptions.MaxCostPerTurn"/> (USD); above 0.</summary>
    public decimal? MaxCostPerTurn { get; init; }

    /// <summary>Overrides <see cref="AgentCoreOptions.MaxCostPerSession"/> (USD); above 0.</summary>
    public decimal? MaxCostPerSession { get; init; }

    /// <summary>Overrides <see cref="AgentCoreOptions.MaxTokensPerTurn"/>; above 0.</summary>
    public long? MaxTokensPerTurn { get; init; }
}
