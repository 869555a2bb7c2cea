namespace AgentCore;

/// <summary>
/// A session's usage with its sub-agent children's rolled up (<see cref="ChildSessionExtensions.GetUsageAsync"/>):
/// its own tokens and cost, and those of its sub-agent children and their children, shown separately and together.
/// </summary>
/// <param name="SessionId">The session.</param>
/// <param name="OwnTokens">The session's own tokens: its messages' and its title's, as its totals count them.</param>
/// <param name="OwnCost">The session's own cost in USD.</param>
/// <param name="ChildrenTokens">The tokens of every sub-agent child, grandchild and so on.</param>
/// <param name="ChildrenCost">Their cost in USD.</param>
/// <param name="Children">How many sub-agent sessions <paramref name="ChildrenTokens"/> counts, at every depth.</param>
public sealed record SessionUsage(string SessionId, TokenUsage OwnTokens, decimal OwnCost, TokenUsage ChildrenTokens, decimal ChildrenCost, int Children)
{
    /// <summary>The tokens including the children's: <see cref="OwnTokens"/> + <see cref="ChildrenTokens"/>.</summary>
    public TokenUsage TotalTokens => OwnTokens + ChildrenTokens;

    /// <summary>The cost including the children's: <see cref="OwnCost"/> + <see cref="ChildrenCost"/>.</summary>
    public decimal TotalCost => OwnCost + ChildrenCost;
}
