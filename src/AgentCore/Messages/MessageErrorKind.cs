namespace AgentCore;

/// <summary>The kinds of <see cref="MessageError"/>.</summary>
public enum MessageErrorKind
{
    /// <summary>An error not otherwise classified.</summary>
    Unknown = 0,
    /// <summary>The provider's API returned an error (see <see cref="MessageError.StatusCode"/>).</summary>
    Api,
    /// <summary>The prompt did not fit the model's context window.</summary>
    ContextOverflow,
    /// <summary>The turn was aborted or cancelled.</summary>
    Aborted,
    /// <summary>The process running the turn died; the message was closed when the session was next loaded.</summary>
    Interrupted,
    /// <summary>The turn stopped at <c>MaxSteps</c>.</summary>
    MaxSteps,
    /// <summary>The turn stopped because a cost or token budget was spent (<c>MaxCostPerTurn</c>, <c>MaxCostPerSession</c>, <c>MaxTokensPerTurn</c>).</summary>
    BudgetExceeded,
    /// <summary>The turn stopped because the model repeated the same tool call (<c>DoomLoopThreshold</c>).</summary>
    DoomLoop,
    /// <summary>The turn stopped because too many tool calls in a row failed (<c>MaxConsecutiveToolErrors</c>).</summary>
    ToolErrors,
}
