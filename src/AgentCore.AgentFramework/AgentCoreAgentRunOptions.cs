using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace AgentCore;

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
