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

/// <summary>
/// Run options of an <see cref="AgentCoreAgent"/>: the model and chat options of one run, beside Agent Framework's own
/// (<see cref="AgentRunOptions.ResponseFormat"/> is honoured; background responses and continuation tokens are not supported).
/// </summary>
public sealed class AgentCoreAgentRunOptions : AgentRunOptions
{
    /// <summary>Creates empty run options.</summary>
    public AgentCoreAgentRunOptions()
    {
    }

    private AgentCoreAgentRunOptions(AgentCoreAgentRunOptions options)
        : base(options)
    {
        Model = options.Model;
        ChatOptions = options.ChatOptions?.Clone();
    }

    /// <summary>The model of this run as <c>provider/model</c>; null for <see cref="AgentCoreAgentOptions.Model"/>.</summary>
    public string? Model { get; set; }

    /// <summary>The chat options of this run; null for <see cref="AgentCoreAgentOptions.ChatOptions"/>.</summary>
    public ChatOptions? ChatOptions { get; set; }

    /// <inheritdoc />
    public override AgentRunOptions Clone() => new AgentCoreAgentRunOptions(this);
}
