using Microsoft.Extensions.AI;

namespace AgentCore.Testing;

/// <summary>One call a <see cref="ScriptedChatClient"/> received.</summary>
/// <param name="Messages">The messages sent (a copy of the list).</param>
/// <param name="Options">The options sent (a clone), or null.</param>
public sealed record ScriptedCall(IReadOnlyList<ChatMessage> Messages, ChatOptions? Options);
