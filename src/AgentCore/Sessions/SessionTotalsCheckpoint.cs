namespace AgentCore;

/// <summary>
/// Which usage a session's totals (<see cref="SessionInfo.Tokens"/>, <see cref="SessionInfo.Cost"/>) include: every
/// message up to and including <see cref="MessageId"/>, plus usage that belongs to no message. Kept with the totals,
/// in the same write, so that after any crash the next turn adds exactly what the totals lack — never twice.
/// </summary>
/// <remarks>
/// Maintained by AgentCore; apps leave it alone and stores persist it as part of the session (the in-repo stores keep
/// it in the session's JSON). See <c>docs/usage-and-cost.md</c>.
/// </remarks>
public sealed record SessionTotalsCheckpoint
{
    /// <summary>The checkpoint of a session whose totals include nothing yet.</summary>
    public static SessionTotalsCheckpoint Empty { get; } = new();

    /// <summary>The id of the newest message whose usage the totals include; null when they include no message yet.</summary>
    public string? MessageId { get; init; }

    /// <summary>The tokens of <see cref="MessageId"/> as they were counted (should that message grow later, the difference is added).</summary>
    public TokenUsage MessageTokens { get; init; }

    /// <summary>The cost in USD of <see cref="MessageId"/> as it was counted.</summary>
    public decimal MessageCost { get; init; }

    /// <summary>Tokens the totals include that belong to no message (for example a generated title's).</summary>
    public TokenUsage OtherTokens { get; init; }

    /// <summary>The cost in USD the totals include that belongs to no message.</summary>
    public decimal OtherCost { get; init; }
}
