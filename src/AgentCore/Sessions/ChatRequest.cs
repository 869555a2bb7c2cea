using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>One user turn: what the user says and how to answer it.</summary>
public sealed record ChatRequest
{
    /// <summary>The session to chat in.</summary>
    public required string SessionId { get; init; }

    /// <summary>The user's text. Either this or <see cref="Contents"/> (or both: the text comes first).</summary>
    public string? Text { get; init; }

    /// <summary>
    /// The user's content: text, files (<see cref="DataContent"/>, <see cref="UriContent"/>) — or, to continue a turn that
    /// ended with <see cref="ExitReason.AwaitingApproval"/>, one <see cref="ToolApprovalResponseContent"/> per waiting call
    /// (<c>request.CreateResponse(approved, reason)</c>) and nothing else. See docs/approval-and-limits.md.
    /// </summary>
    public IList<AIContent>? Contents { get; init; }

    /// <summary>The model as <c>provider/model</c>; null for <see cref="AgentCoreOptions.DefaultModel"/>.</summary>
    public string? Model { get; init; }

    /// <summary>Budgets for this turn, each overriding its <see cref="AgentCoreOptions"/> setting; null for the options' own.</summary>
    public TurnBudget? Budget { get; init; }

    /// <summary>Options passed to the chat client (temperature and the like). Tools are set by the engine and added to these.</summary>
    public ChatOptions? Options { get; init; }
}
