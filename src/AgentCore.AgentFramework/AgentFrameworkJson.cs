using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentCore;

/// <summary>What an <see cref="AgentCoreAgentSession"/> serializes to: the AgentCore session id and the session's state bag.</summary>
internal sealed record SerializedAgentSession(string SessionId, JsonElement? StateBag);

/// <summary>What <see cref="AgentCoreChatHistoryProvider"/> keeps in a session's state bag: the AgentCore session id.</summary>
internal sealed class ChatHistoryState
{
    public string? SessionId { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SerializedAgentSession))]
[JsonSerializable(typeof(ChatHistoryState))]
internal sealed partial class AgentFrameworkJsonContext : JsonSerializerContext;
