namespace AgentCore;

/// <summary>
/// Deep copies of messages and parts, field by field: what a JSON round trip would give, without serializing (a copy is
/// made for every <see cref="MessageUpdated"/> event a turn publishes).
/// </summary>
/// <remarks>
/// Every mutable thing is copied (parts, attachment lists, metadata dictionaries, inline file bytes, approvals);
/// immutable values are shared (strings, <see cref="MessageError"/>). JSON values are cloned, which costs nothing
/// when they do not belong to a disposable <see cref="System.Text.Json.JsonDocument"/>, so disposing the document the
/// original's arguments came from never breaks the copy.
/// A property added to a part must be added here too: a test compares each copy with the JSON round trip.
/// </remarks>
internal static class MessageCopies
{
    /// <summary>A copy of <paramref name="message"/> that shares nothing mutable with it.</summary>
    public static SessionMessage Copy(SessionMessage message)
    {
        var parts = new List<MessagePart>(message.Parts.Count);
        foreach (var part in message.Parts)
        {
            parts.Add(Copy(part));
        }

        return WithParts(message, parts);
    }

    /// <summary>
    /// A new message with <paramref name="message"/>'s own fields (every field but the parts) and <paramref name="parts"/>:
    /// the one list of a message's fields that a copy is made of.
    /// </summary>
    public static SessionMessage WithParts(SessionMessage message, List<MessagePart> parts)
    {
        var copy = new SessionMessage { Id = message.Id, SessionId = message.SessionId, Role = message.Role, CreatedAt = message.CreatedAt, Parts = parts };
        CopyFields(message, copy);
        return copy;
    }

    /// <summary>
    /// Sets every field of <paramref name="into"/> but its parts to <paramref name="from"/>'s: the one list of a message's
    /// own fields (immutable values, shared), used by <see cref="WithParts"/> and by a store that updates its private copy in place.
    /// </summary>
    public static void CopyFields(SessionMessage from, SessionMessage into)
    {
        into.Id = from.Id;
        into.SessionId = from.SessionId;
        into.Role = from.Role;
        into.CreatedAt = from.CreatedAt;
        into.CompletedAt = from.CompletedAt;
        into.ProviderId = from.ProviderId;
        into.ModelId = from.ModelId;
        into.Tokens = from.Tokens;
        into.Cost = from.Cost;
        into.IsSummary = from.IsSummary;
        into.SummarizedThrough = from.SummarizedThrough;
        into.Error = from.Error;
        into.FinishReason = from.FinishReason;
    }

    /// <summary>A copy of <paramref name="part"/> that shares nothing mutable with it.</summary>
    /// <exception cref="ArgumentException">The part is of a kind this version does not know.</exception>
    public static MessagePart Copy(MessagePart part) => part switch
    {
        TextPart text => new TextPart { Id = text.Id, Text = text.Text },
        ReasoningPart reasoning => new ReasoningPart { Id = reasoning.Id, Text = reasoning.Text },
        FilePart file => Copy(file),
        ToolPart tool => new ToolPart
        {
            Id = tool.Id,
            CallId = tool.CallId,
            ToolName = tool.ToolName,
            Arguments = tool.Arguments?.Clone(),
            RawArguments = tool.RawArguments,
            State = tool.State,
            Output = tool.Output,
            Attachments = tool.Attachments?.ConvertAll(Copy),
            Metadata = tool.Metadata is null ? null : Copy(tool.Metadata),
            Error = tool.Error,
            Approval = tool.Approval is { } approval
                ? new ToolApprovalDecision { Approved = approval.Approved, Reason = approval.Reason, AnsweredAt = approval.AnsweredAt }
                : null,
            StartedAt = tool.StartedAt,
            EndedAt = tool.EndedAt,
            Compacted = tool.Compacted,
        },
        StepStartPart start => new StepStartPart { Id = start.Id, StartedAt = start.StartedAt },
        StepFinishPart finish => new StepFinishPart { Id = finish.Id, Tokens = finish.Tokens, Cost = finish.Cost, FinishReason = finish.FinishReason, EndedAt = finish.EndedAt },
        _ => throw new ArgumentException($"Unknown message part type {part.GetType().Name}.", nameof(part)),
    };

    private static Dictionary<string, System.Text.Json.JsonElement> Copy(Dictionary<string, System.Text.Json.JsonElement> metadata)
    {
        var copy = new Dictionary<string, System.Text.Json.JsonElement>(metadata.Count, metadata.Comparer);
        foreach (var (key, value) in metadata)
        {
            copy[key] = value.Clone();
        }

        return copy;
    }

    private static FilePart Copy(FilePart file) =>
        new() { Id = file.Id, MediaType = file.MediaType, Name = file.Name, Data = file.Data?.ToArray(), Uri = file.Uri };
}
