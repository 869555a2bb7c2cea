namespace AgentCore;

/// <summary>
/// A sub-agent offered to the model as a tool (register it with <c>AddSubAgent</c>): each call runs one turn in a new
/// child session of the calling session (<see cref="SessionInfo.ParentId"/> set, marked with
/// <see cref="ChildSessionExtensions.SubAgentMetadataKey"/>) and returns the child's reply. See docs/sessions.md, "Child sessions".
/// </summary>
public sealed record SubAgentDefinition
{
    /// <summary>The tool's name, as the model sees it: 1 to 64 letters, digits, <c>_</c> or <c>-</c>.</summary>
    public required string Name { get; init; }

    /// <summary>What the sub-agent is for, as the model sees it in the tool's description.</summary>
    public required string Description { get; init; }

    /// <summary>
    /// Instructions for the sub-agent's model, sent as <see cref="Microsoft.Extensions.AI.ChatOptions.Instructions"/> of
    /// every child turn (in addition to the system prompt); null for none.
    /// </summary>
    public string? Instructions { get; init; }

    /// <summary>The child's model as <c>provider/model</c>; null for <see cref="AgentCoreOptions.DefaultModel"/>.</summary>
    public string? Model { get; init; }

    /// <summary>Budgets of each child turn (<see cref="ChatRequest.Budget"/>); null for the options' own.</summary>
    public TurnBudget? Budget { get; init; }

    /// <summary>
    /// How deep sub-agents may nest: the tool is offered in a session only while it has fewer than this many
    /// sub-agent ancestors. The default, 1, offers it in sessions that are not sub-agent children themselves, so a
    /// sub-agent cannot start sub-agents. At least 1.
    /// </summary>
    public int MaxDepth { get; init; } = 1;
}
