using System.Text.Json.Serialization;

namespace AgentCore;

/// <summary>The state of a <see cref="ToolPart"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ToolState>))]
public enum ToolState
{
    /// <summary>The model asked for the call; it has not started.</summary>
    Pending = 0,
    /// <summary>The tool is running.</summary>
    Running,
    /// <summary>The tool returned; <see cref="ToolPart.Output"/> holds its result.</summary>
    Completed,
    /// <summary>The call failed; <see cref="ToolPart.Error"/> says why. The model sees the error as the result.</summary>
    Error,
    /// <summary>
    /// The call needs a person's approval and has not run; the turn ended with <see cref="ExitReason.AwaitingApproval"/>.
    /// Answer it with a <see cref="Microsoft.Extensions.AI.ToolApprovalResponseContent"/> in <see cref="ChatRequest.Contents"/>.
    /// </summary>
    AwaitingApproval,
}
