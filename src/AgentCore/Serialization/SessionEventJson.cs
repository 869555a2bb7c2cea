using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// Session events as JSON, for an <see cref="ISessionEventRelay"/> that carries them between processes: a type name
/// (<see cref="TypeOf"/>, for example <c>text-delta</c>) and the event's fields as a JSON object (camelCase, nulls omitted,
/// messages and parts as stores write them). <see cref="Deserialize"/> reads back the same event, with its
/// <see cref="SessionEvent.Sequence"/>.
/// </summary>
public static class SessionEventJson
{
    private static readonly Dictionary<Type, string> s_names = new()
    {
        [typeof(SessionCreated)] = "session-created",
        [typeof(SessionUpdated)] = "session-updated",
        [typeof(SessionDeleted)] = "session-deleted",
        [typeof(MessageUpdated)] = "message-updated",
        [typeof(TextDelta)] = "text-delta",
        [typeof(ReasoningDelta)] = "reasoning-delta",
        [typeof(ToolCallUpdated)] = "tool-call-updated",
        [typeof(ToolApprovalRequested)] = "tool-approval-requested",
        [typeof(StepFinished)] = "step-finished",
        [typeof(Retrying)] = "retrying",
        [typeof(CompactionStarted)] = "compaction-started",
        [typeof(CompactionFinished)] = "compaction-finished",
        [typeof(TurnCompleted)] = "turn-completed",
    };

    private static readonly Dictionary<string, Type> s_types = s_names.ToDictionary(static p => p.Value, static p => p.Key, StringComparer.Ordinal);

    /// <summary>The type name of an event: its record's name in kebab case (<c>text-delta</c>, <c>turn-completed</c>, …).</summary>
    /// <param name="sessionEvent">The event.</param>
    /// <returns>The name <see cref="Deserialize"/> takes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sessionEvent"/> is null.</exception>
    /// <exception cref="NotSupportedException">The event is not one of AgentCore's own event types.</exception>
    public static string TypeOf(SessionEvent sessionEvent)
    {
        ArgumentNullException.ThrowIfNull(sessionEvent);
        return s_names.TryGetValue(sessionEvent.GetType(), out string? name)
            ? name
            : throw new NotSupportedException($"'{sessionEvent.GetType().Name}' is not an AgentCore session event type.");
    }

    /// <summary>Writes an event's fields, its <see cref="SessionEvent.Sequence"/> included, as a JSON object.</summary>
    /// <param name="sessionEvent">The event.</param>
    /// <returns>The JSON text.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sessionEvent"/> is null.</exception>
    /// <exception cref="NotSupportedException">The event is not one of AgentCore's own event types.</exception>
    public static string Serialize(SessionEvent sessionEvent)
    {
        ArgumentNullException.ThrowIfNull(sessionEvent);
        if (sessionEvent is ToolApprovalRequested approval)
        {
            var record = new ApprovalRequestedRecord(
                approval.SessionId, approval.Sequence, approval.MessageId, approval.Part,
                JsonSerializer.SerializeToElement(approval.Request, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ToolApprovalRequestContent))));
            return JsonSerializer.Serialize(record, AgentCoreJsonContext.Default.ApprovalRequestedRecord);
        }

        _ = TypeOf(sessionEvent);
        return JsonSerializer.Serialize(sessionEvent, AgentCoreJsonContext.Default.GetTypeInfo(sessionEvent.GetType())!);
    }

    /// <summary>Reads an event written by <see cref="Serialize"/>.</summary>
    /// <param name="type">The event's type name (<see cref="TypeOf"/>).</param>
    /// <param name="json">The JSON <see cref="Serialize"/> wrote.</param>
    /// <returns>The event, with its <see cref="SessionEvent.Sequence"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="type"/> or <paramref name="json"/> is null.</exception>
    /// <exception cref="NotSupportedException"><paramref name="type"/> is not a known event type name.</exception>
    /// <exception cref="JsonException"><paramref name="json"/> is not such an event.</exception>
    public static SessionEvent Deserialize(string type, string json)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(json);
        if (!s_types.TryGetValue(type, out var eventType))
        {
            throw new NotSupportedException($"'{type}' is not an AgentCore session event type name.");
        }

        if (eventType == typeof(ToolApprovalRequested))
        {
            var record = JsonSerializer.Deserialize(json, AgentCoreJsonContext.Default.ApprovalRequestedRecord)
                         ?? throw new JsonException("A tool-approval-requested event is null.");
            var request = (ToolApprovalRequestContent?)record.Request.Deserialize(AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ToolApprovalRequestContent)))
                          ?? throw new JsonException("A tool-approval-requested event has no request.");
            return new ToolApprovalRequested(record.SessionId, record.MessageId, record.Part, request) { Sequence = record.Sequence };
        }

        return (SessionEvent?)JsonSerializer.Deserialize(json, (JsonTypeInfo)AgentCoreJsonContext.Default.GetTypeInfo(eventType)!)
               ?? throw new JsonException($"A {type} event is null.");
    }

    /// <summary>The JSON shape of <see cref="ToolApprovalRequested"/>: the request as Microsoft.Extensions.AI writes it.</summary>
    internal sealed record ApprovalRequestedRecord(string SessionId, long Sequence, string MessageId, ToolPart Part, JsonElement Request);
}
