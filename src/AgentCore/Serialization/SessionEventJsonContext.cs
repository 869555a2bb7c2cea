using System.Text.Json.Serialization;

namespace AgentCore;

/// <summary>
/// Source-generated JSON metadata for session events as they cross processes (<see cref="SessionEventJson"/>): the same
/// naming as stored records (camelCase, nulls omitted). <see cref="ToolApprovalRequested"/> is written by hand, its
/// request through Microsoft.Extensions.AI's own serializer options.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
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
internal sealed partial class SessionEventJsonContext : JsonSerializerContext;
