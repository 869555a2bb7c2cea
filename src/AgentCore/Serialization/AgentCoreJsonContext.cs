using System.Text.Json.Serialization;

namespace AgentCore;

/// <summary>
/// Source-generated JSON metadata for everything AgentCore persists. Stored records use camelCase names
/// and omit nulls; history entries carry their own snake_case names.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(SessionInfo))]
[JsonSerializable(typeof(SessionMessage))]
[JsonSerializable(typeof(MessagePart))]
[JsonSerializable(typeof(SessionHistoryEntry))]
[JsonSerializable(typeof(TokenUsage))]
[JsonSerializable(typeof(JournalRecord))]
[JsonSerializable(typeof(SessionExportDocument))]
internal sealed partial class AgentCoreJsonContext : JsonSerializerContext;
