using Microsoft.Agents.AI;

namespace AgentCore;

/// <summary>
/// The keys under which an <see cref="AgentCoreAgent"/> puts AgentCore's facts in
/// <see cref="AgentResponse.AdditionalProperties"/> (and in the last <see cref="AgentResponseUpdate"/> of a streamed run).
/// </summary>
public static class AgentCoreAgentProperties
{
    /// <summary>The AgentCore session id (<see cref="string"/>).</summary>
    public const string SessionId = "agentcore.session_id";

    /// <summary>The id of the stored assistant message of the run (<see cref="string"/>).</summary>
    public const string MessageId = "agentcore.message_id";

    /// <summary>The run's cost in USD (<see cref="decimal"/>), priced by AgentCore from the model's pricing.</summary>
    public const string Cost = "agentcore.cost";

    /// <summary>Why the run ended (<see cref="string"/>): <c>completed</c>, <c>aborted</c>, <c>max_steps</c>, ... (see <see cref="ExitReason"/>).</summary>
    public const string ExitReason = "agentcore.exit_reason";

    /// <summary>The model that answered, as <c>provider/model</c> (<see cref="string"/>).</summary>
    public const string Model = "agentcore.model";
}
