using System.Text.Json;

namespace AgentCore;

/// <summary>
/// The JSON shape AgentCore stores records in, for store authors: camelCase names, nulls omitted, parts with a
/// <c>type</c> discriminator. Serialize <see cref="SessionInfo"/>, <see cref="SessionMessage"/>,
/// <see cref="MessagePart"/> and <see cref="SessionHistoryEntry"/> with these options (source-generated, trimming-safe).
/// </summary>
public static class AgentCoreJson
{
    /// <summary>Read-only serializer options backed by AgentCore's source-generated metadata.</summary>
    public static JsonSerializerOptions Options => AgentCoreJsonContext.Default.Options;
}
