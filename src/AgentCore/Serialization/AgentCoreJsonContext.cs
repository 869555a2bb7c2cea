using System.Text.Json.Serialization;

namespace AgentCore;

/// <summary>
/// Source-generated JSON metadata for everything AgentCore persists, and for session events as they cross processes
/// (<see cref="SessionEventJson"/>). Stored records and events use camelCase names and omit nulls; history entries carry
/// their own snake_case names. <see cref="ToolApprovalRequested"/> is written by hand, its request through
/// Microsoft.Extensions.AI's own serializer options.
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
[JsonSerializable(typeof(SessionCreated))]
[JsonSerializable(typeof(SessionUpdated))]
[JsonSerializable(typeof(SessionDeleted))]
[JsonSerializable(typeof(MessageUpdated))]
[JsonSerializable(typeof(TextDelta))]
[JsonSerializable(typeof(ReasoningDelta))]
[JsonSerializable(typeof(ToolCallUpdated))]
[JsonSerializable(typeof(StepFinished))]
[JsonSerializable(typeof(Retrying))]
[JsonSerializable(typeof(CompactionStarted))]
[JsonSerializable(typeof(CompactionFinished))]
[JsonSerializable(typeof(TurnCompleted))]
[JsonSerializable(typeof(SessionEventJson.ApprovalRequestedRecord))]
internal sealed partial class AgentCoreJsonContext : JsonSerializerContext;
