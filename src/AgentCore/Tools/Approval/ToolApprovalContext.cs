using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>What an <see cref="IToolApprovalPolicy"/> knows about a tool call the model asked for.</summary>
/// <param name="Session">The session running the turn, as it was when the turn started.</param>
/// <param name="Call">The call: its id, the tool's name and the arguments the model sent.</param>
/// <param name="Tool">The tool the call would run.</param>
public sealed record ToolApprovalContext(SessionInfo Session, FunctionCallContent Call, AIFunction Tool);
