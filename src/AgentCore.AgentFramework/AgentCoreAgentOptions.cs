using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>Settings of an <see cref="AgentCoreAgent"/>. Every member is optional.</summary>
public sealed class AgentCoreAgentOptions
{
    /// <summary>The agent's <see cref="AIAgent.Id"/>; null for a random id per agent instance (Agent Framework's default).</summary>
    public string? Id { get; set; }

    /// <summary>The agent's <see cref="AIAgent.Name"/>.</summary>
    public string? Name { get; set; }

    /// <summary>The agent's <see cref="AIAgent.Description"/>.</summary>
    public string? Description { get; set; }

    /// <summary>
    /// The model every run uses, as <c>provider/model</c>; null for <see cref="AgentCoreOptions.DefaultModel"/>.
    /// <see cref="AgentCoreAgentRunOptions.Model"/> overrides it for one run.
    /// </summary>
    public string? Model { get; set; }

    /// <summary>
    /// Chat options every run passes to the model (temperature and the like); tools come from AgentCore's registry and
    /// are added to these. <see cref="AgentCoreAgentRunOptions.ChatOptions"/> replaces them for one run.
    /// </summary>
    public ChatOptions? ChatOptions { get; set; }

    /// <summary>Metadata stored on every session <see cref="AIAgent.CreateSessionAsync"/> creates (owner, tags, ...).</summary>
    public IReadOnlyDictionary<string, string>? SessionMetadata { get; set; }
}
