using System.Text.Json;

using static AgentCore.Utf8JsonValues;

namespace AgentCore.Storage;

/// <summary>
/// Reads a stored message's JSON, and a part's, in one pass of a <see cref="Utf8JsonReader"/>, without the serializer's
/// per-property and polymorphic machinery: what loading a long session from the file store spends most of its time on.
/// </summary>
/// <remarks>
/// <para>Like <see cref="SessionJsonReader"/>, it decides only what it reads exactly as <see cref="JsonSerializer"/> with the
/// source-generated context would: the same reader and <c>TryGet</c> conversions, the last of a repeated property winning,
/// unknown properties skipped, a property left out read as the serializer leaves it. Text, reasoning, step-start and
/// step-finish parts are read here; any other part (a tool call, a file) and a message's error are read by the serializer
/// from the same reader. Anything else — a value of another type or null where the usual record has none, a number out
/// of range, a required property missing, a part whose <c>type</c> does not come first, malformed JSON — answers
/// <see langword="false"/>, and the caller asks the serializer, which gives the record or the error it always gave.</para>
/// <para>The strings a load repeats are shared: the session id (when the caller names it), and the provider, model and
/// finish reason through a <see cref="Utf8StringCache"/> per reader.</para>
/// </remarks>
internal sealed class MessageJsonReader
{
    private readonly string? _sessionId;
    private readonly Utf8StringCache _strings = new();

    /// <summary>Creates a reader for the records of one load.</summary>
    /// <param name="sessionId">The session the records are stored under, whose id the messages share; null when unknown.</param>
    public MessageJsonReader(string? sessionId) => _sessionId = sessionId;

    /// <summary>Reads a line of a <see cref="FileSessionStore"/> journal; false when the serializer must decide.</summary>
    public bool TryReadJournalRecord(ReadOnlySpan<byte> utf8Json, out JournalRecord? record)
    {
        record = null;
        try
        {
            var reader = new Utf8JsonReader(utf8Json, isFinalBlock: true, state: default);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            string? kind = null, messageId = null, partId = null, text = null;
            SessionMessage? message = null;
            MessagePart? part = null;
            List<string>? partIds = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool known;
                if (reader.ValueTextEquals("k"u8))
                {
                    known = ReadKind(ref reader, out kind);
                }
                else if (reader.ValueTextEquals("m"u8))
                {
                    message = null;
                    known = ReadNullOrValue(ref reader) || TryReadMessage(ref reader, out message);
                }
                else if (reader.ValueTextEquals("p"u8))
                {
                    part = null;
                    known = ReadNullOrValue(ref reader) || TryReadPart(ref reader, out part);
                }
                else if (reader.ValueTextEquals("mid"u8))
                {
                    known = ReadString(ref reader, out messageId);
                }
                else if (reader.ValueTextEquals("pid"u8))
                {
                    known = ReadString(ref reader, out partId);
                }
                else if (reader.ValueTextEquals("t"u8))
                {
                    known = ReadString(ref reader, out text);
                }
                else if (reader.ValueTextEquals("ids"u8))
                {
                    known = ReadIds(ref reader, out partIds);
                }
                else
                {
                    reader.Skip();
                    known = true;
                }

                if (!known)
                {
                    return false;
                }
            }

            // The object ends here, and only white space follows it.
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return false;
            }

            record = new JournalRecord { Kind = kind ?? "", Message = message, Part = part, MessageId = messageId, PartId = partId, Text = text, PartIds = partIds };
            return true;
        }
        catch (Exception ex) when (StoredRecords.IsUnreadable(ex))
        {
            return false;
        }
    }

    /// <summary>Reads a part's JSON; false when the serializer must decide.</summary>
    public static bool TryReadPart(ReadOnlySpan<byte> utf8Json, out MessagePart? part)
    {
        part = null;
        try
        {
            var reader = new Utf8JsonReader(utf8Json, isFinalBlock: true, state: default);
            return TryReadPart(ref reader, out part) && !reader.Read();
        }
        catch (Exception ex) when (StoredRecords.IsUnreadable(ex))
        {
            part = null;
            return false;
        }
    }

    /// <summary>
    /// Reads the message that starts at <paramref name="reader"/>'s next token; false when the serializer must decide
    /// (the reader's position is then undefined).
    /// </summary>
    private bool TryReadMessage(ref Utf8JsonReader reader, out SessionMessage? message)
    {
        message = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        string? id = null, sessionId = null, providerId = null, modelId = null, summarizedThrough = null, finishReason = null;
        Microsoft.Extensions.AI.ChatRole role = default;
        List<MessagePart>? parts = null;
        DateTimeOffset createdAt = default;
        DateTimeOffset? completedAt = null;
        TokenUsage tokens = default;
        decimal cost = 0;
        bool isSummary = false, hasId = false, hasSessionId = false, hasRole = false, hasCreatedAt = false;
        MessageError? error = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool known;
            if (reader.ValueTextEquals("id"u8))
            {
                known = hasId = ReadString(ref reader, out id) && id is not null;
            }
            else if (reader.ValueTextEquals("sessionId"u8))
            {
                known = hasSessionId = ReadSessionId(ref reader, out sessionId);
            }
            else if (reader.ValueTextEquals("role"u8))
            {
                known = hasRole = ReadRole(ref reader, out role);
            }
            else if (reader.ValueTextEquals("parts"u8))
            {
                known = ReadParts(ref reader, out parts);
            }
            else if (reader.ValueTextEquals("createdAt"u8))
            {
                known = hasCreatedAt = reader.Read() && reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out createdAt);
            }
            else if (reader.ValueTextEquals("completedAt"u8))
            {
                known = ReadNullableTime(ref reader, out completedAt);
            }
            else if (reader.ValueTextEquals("providerId"u8))
            {
                known = ReadString(ref reader, _strings, out providerId);
            }
            else if (reader.ValueTextEquals("modelId"u8))
            {
                known = ReadString(ref reader, _strings, out modelId);
            }
            else if (reader.ValueTextEquals("tokens"u8))
            {
                known = ReadTokens(ref reader, out tokens);
            }
            else if (reader.ValueTextEquals("cost"u8))
            {
                known = ReadDecimal(ref reader, out cost);
            }
            else if (reader.ValueTextEquals("isSummary"u8))
            {
                known = reader.Read() && reader.TokenType is JsonTokenType.True or JsonTokenType.False;
                isSummary = reader.TokenType == JsonTokenType.True;
            }
            else if (reader.ValueTextEquals("summarizedThrough"u8))
            {
                known = ReadString(ref reader, out summarizedThrough);
            }
            else if (reader.ValueTextEquals("finishReason"u8))
            {
                known = ReadString(ref reader, _strings, out finishReason);
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                known = ReadError(ref reader, out error);
            }
            else
            {
                reader.Skip();
                known = true;
            }

            if (!known)
            {
                return false;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || !hasId || !hasSessionId || !hasRole || !hasCreatedAt)
        {
            return false;
        }

        message = new SessionMessage
        {
            Id = id!, SessionId = sessionId!, Role = role, Parts = parts ?? [], CreatedAt = createdAt, CompletedAt = completedAt,
            ProviderId = providerId, ModelId = modelId, Tokens = tokens, Cost = cost, IsSummary = isSummary,
            SummarizedThrough = summarizedThrough, Error = error, FinishReason = finishReason,
        };
        return true;
    }

    /// <summary>
    /// Reads the part that starts at <paramref name="reader"/>'s next token; false when the serializer must decide
    /// (the reader's position is then undefined).
    /// </summary>
    private static bool TryReadPart(ref Utf8JsonReader reader, out MessagePart? part)
    {
        part = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        // Where the serializer would start reading the part, for the types it reads.
        var start = reader;
        if (!reader.Read() || reader.TokenType != JsonTokenType.PropertyName || !reader.ValueTextEquals("type"u8)
            || !reader.Read() || reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || reader.HasValueSequence)
        {
            return false;
        }

        var type = reader.ValueSpan;
        if (type.SequenceEqual("text"u8) || type.SequenceEqual("reasoning"u8))
        {
            return ReadTextual(ref reader, reasoning: type[0] == (byte)'r', out part);
        }

        if (type.SequenceEqual("step-start"u8) || type.SequenceEqual("step-finish"u8))
        {
            return ReadStep(ref reader, finish: type.Length == "step-finish".Length, out part);
        }

        reader = start;
        part = JsonSerializer.Deserialize(ref reader, AgentCoreJsonContext.Default.MessagePart);
        return part is not null;
    }

    /// <summary>The rest of a text or reasoning part, after its <c>type</c>.</summary>
    private static bool ReadTextual(ref Utf8JsonReader reader, bool reasoning, out MessagePart? part)
    {
        part = null;
        string? id = null, text = "";
        bool hasId = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool known;
            if (reader.ValueTextEquals("id"u8))
            {
                known = hasId = ReadString(ref reader, out id) && id is not null;
            }
            else if (reader.ValueTextEquals("text"u8))
            {
                known = ReadString(ref reader, out text) && text is not null;
            }
            else
            {
                known = SkipUnknown(ref reader);
            }

            if (!known)
            {
                return false;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || !hasId)
        {
            return false;
        }

        part = reasoning ? new ReasoningPart { Id = id!, Text = text! } : new TextPart { Id = id!, Text = text! };
        return true;
    }

    /// <summary>The rest of a step-start or step-finish part, after its <c>type</c>.</summary>
    private static bool ReadStep(ref Utf8JsonReader reader, bool finish, out MessagePart? part)
    {
        part = null;
        string? id = null, finishReason = null;
        bool hasId = false, known;
        DateTimeOffset startedAt = default, endedAt = default;
        TokenUsage tokens = default;
        decimal cost = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                known = hasId = ReadString(ref reader, out id) && id is not null;
            }
            else if (!finish && reader.ValueTextEquals("startedAt"u8))
            {
                known = reader.Read() && reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out startedAt);
            }
            else if (finish && reader.ValueTextEquals("endedAt"u8))
            {
                known = reader.Read() && reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out endedAt);
            }
            else if (finish && reader.ValueTextEquals("tokens"u8))
            {
                known = ReadTokens(ref reader, out tokens);
            }
            else if (finish && reader.ValueTextEquals("cost"u8))
            {
                known = ReadDecimal(ref reader, out cost);
            }
            else if (finish && reader.ValueTextEquals("finishReason"u8))
            {
                known = ReadString(ref reader, out finishReason);
            }
            else
            {
                known = SkipUnknown(ref reader);
            }

            if (!known)
            {
                return false;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || !hasId)
        {
            return false;
        }

        part = finish
            ? new StepFinishPart { Id = id!, Tokens = tokens, Cost = cost, FinishReason = finishReason, EndedAt = endedAt }
            : new StepStartPart { Id = id!, StartedAt = startedAt };
        return true;
    }

    /// <summary>
    /// Skips a property the part type does not have; a second <c>type</c>, and a name that is escaped or starts with
    /// <c>$</c> (which the serializer reads as polymorphic metadata and refuses), are the serializer's to judge.
    /// </summary>
    private static bool SkipUnknown(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.ValueSpan is [(byte)'$', ..] || reader.ValueTextEquals("type"u8))
        {
            return false;
        }

        reader.Skip();
        return true;
    }

    /// <summary>A message's parts: an array of parts (null is the serializer's to judge).</summary>
    private static bool ReadParts(ref Utf8JsonReader reader, out List<MessagePart>? parts)
    {
        parts = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        var list = new List<MessagePart>(1);
        while (true)
        {
            // Look at the next token without moving past it: the end of the array, or a part.
            var peek = reader;
            if (!peek.Read())
            {
                return false;
            }

            if (peek.TokenType == JsonTokenType.EndArray)
            {
                reader = peek;
                parts = list;
                return true;
            }

            if (!TryReadPart(ref reader, out var part))
            {
                return false;
            }

            list.Add(part!);
        }
    }

    /// <summary>A record kind AgentCore writes, as its constant (any other is the serializer's to judge).</summary>
    private static bool ReadKind(ref Utf8JsonReader reader, out string? kind)
    {
        kind = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || reader.HasValueSequence)
        {
            return false;
        }

        var value = reader.ValueSpan;
        kind = value.Length != 1 ? null : value[0] switch
        {
            (byte)'m' => JournalRecord.WholeMessage,
            (byte)'p' => JournalRecord.OnePart,
            (byte)'t' => JournalRecord.AppendedText,
            (byte)'d' => JournalRecord.Delta,
            _ => null,
        };
        return kind is not null;
    }

    /// <summary>Whether the next value is null (then the reader is moved past it; else it is not moved).</summary>
    private static bool ReadNullOrValue(ref Utf8JsonReader reader)
    {
        var peek = reader;
        if (peek.Read() && peek.TokenType == JsonTokenType.Null)
        {
            reader = peek;
            return true;
        }

        return false;
    }

    /// <summary>A list of part ids, none of them null (anything else is the serializer's to judge).</summary>
    private static bool ReadIds(ref Utf8JsonReader reader, out List<string>? ids)
    {
        ids = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        var list = new List<string>();
        while (reader.Read() && reader.TokenType == JsonTokenType.String)
        {
            list.Add(reader.GetString()!);
        }

        ids = list;
        return reader.TokenType == JsonTokenType.EndArray;
    }

    /// <summary>The session id: the known one's string when the value spells it.</summary>
    private bool ReadSessionId(ref Utf8JsonReader reader, out string? sessionId)
    {
        sessionId = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.String)
        {
            return false;
        }

        sessionId = _sessionId is not null && reader.ValueTextEquals(_sessionId) ? _sessionId : reader.GetString();
        return true;
    }

    private static bool ReadNullableTime(ref Utf8JsonReader reader, out DateTimeOffset? time)
    {
        time = null;
        if (!ReadNullOr(ref reader, JsonTokenType.String, out bool isNull))
        {
            return false;
        }

        if (isNull)
        {
            return true;
        }

        if (!reader.TryGetDateTimeOffset(out var value))
        {
            return false;
        }

        time = value;
        return true;
    }

    /// <summary>A message's error, or null, read by the serializer.</summary>
    private static bool ReadError(ref Utf8JsonReader reader, out MessageError? error)
    {
        var peek = reader;
        if (peek.Read() && peek.TokenType == JsonTokenType.Null)
        {
            reader = peek;
            error = null;
            return true;
        }

        // From the property name, the serializer reads the value that follows.
        error = JsonSerializer.Deserialize(ref reader, AgentCoreJsonContext.Default.MessageError);
        return true;
    }

    /// <summary>One of the four well-known roles, unescaped (any other is the serializer's to judge).</summary>
    private static bool ReadRole(ref Utf8JsonReader reader, out Microsoft.Extensions.AI.ChatRole role)
    {
        role = default;
        if (!reader.Read() || reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || reader.HasValueSequence
            || StoredValues.WellKnownRole(reader.ValueSpan) is not { } known)
        {
            return false;
        }

        role = known;
        return true;
    }
}
