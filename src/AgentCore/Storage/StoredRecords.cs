using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// How the stores keep records: a session whole as JSON; for the database stores, a message's own fields as
/// columns and its parts as rows (type, JSON, and the streamed text apart so it can grow by appends).
/// </summary>
/// <remarks>
/// Shared by the file store and the database store packages (they see AgentCore's internals). The database
/// stores keep every field of <see cref="SessionMessage"/> except <see cref="SessionMessage.Parts"/> in a column of
/// their own, and text and reasoning parts (an id and their text) without JSON: a field added to either type needs a
/// column (a schema migration) in both database stores; <c>StoredColumnsTests</c> (AgentCore.Sqlite.Tests) fails until then.
/// </remarks>
internal static class StoredRecords
{
    /// <summary>The type discriminator of <see cref="TextPart"/>.</summary>
    public const string TextType = "text";

    /// <summary>The type discriminator of <see cref="ReasoningPart"/>.</summary>
    public const string ReasoningType = "reasoning";

    /// <summary>Checks a session to save: not null, with a well-formed id and parent id (ArgumentException naming them).</summary>
    public static void ValidateSession(SessionInfo session)
    {
        ArgumentNullException.ThrowIfNull(session);
        Identifier.Validate(session.Id, IdKind.Session, nameof(session));
        if (session.ParentId is not null)
        {
            Identifier.Validate(session.ParentId, IdKind.Session, nameof(session));
        }
    }

    /// <summary>
    /// Checks a message to save: not null, with a well-formed message id and session id, a role, and parts that are not
    /// null (ArgumentException naming them), so that no store writes a record it could not read back.
    /// </summary>
    public static void ValidateMessage(SessionMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Identifier.Validate(message.Id, IdKind.Message, nameof(message));
        Identifier.Validate(message.SessionId, IdKind.Session, nameof(message));
        if (string.IsNullOrWhiteSpace(message.Role.Value))
        {
            throw new ArgumentException($"Message '{message.Id}' has no role.", nameof(message));
        }

        if (message.Parts is null)
        {
            throw new ArgumentException($"Message '{message.Id}' has null Parts; use an empty list.", nameof(message));
        }

        for (int i = 0; i < message.Parts.Count; i++)
        {
            if (message.Parts[i] is null)
            {
                throw new ArgumentException($"Message '{message.Id}' has a null part at index {i}.", nameof(message));
            }
        }
    }

    /// <summary>Checks a part to save with its message (see <see cref="ValidateMessage"/>): not null, with a well-formed part id.</summary>
    public static void ValidatePart(SessionMessage message, MessagePart part)
    {
        ValidateMessage(message);
        ArgumentNullException.ThrowIfNull(part);
        Identifier.Validate(part.Id, IdKind.Part, nameof(part));
    }

    /// <summary>Checks the arguments of <see cref="ISessionStore.DeleteMessagesAsync"/>: well-formed ids (ArgumentException naming them).</summary>
    public static void ValidateMessageIds(string sessionId, IReadOnlyCollection<string> messageIds)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        ArgumentNullException.ThrowIfNull(messageIds);
        foreach (string id in messageIds)
        {
            Identifier.Validate(id, IdKind.Message, nameof(messageIds));
        }
    }

    /// <summary>
    /// Runs the function of <see cref="ISessionStore.UpdateSessionAsync"/> on the stored session: null when it changed nothing
    /// (it returned <paramref name="current"/> itself), else the session to save.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="update"/> returned null.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="update"/> changed the session's id.</exception>
    /// <exception cref="ArgumentException"><paramref name="update"/> returned a malformed parent id (see <see cref="ValidateSession"/>).</exception>
    public static SessionInfo? Updated(SessionInfo current, Func<SessionInfo, SessionInfo> update)
    {
        var changed = update(current);
        if (ReferenceEquals(changed, current))
        {
            return null;
        }

        ArgumentNullException.ThrowIfNull(changed, nameof(update));
        if (changed.Id != current.Id)
        {
            throw new InvalidOperationException($"An update of session '{current.Id}' may not change its id (to '{changed.Id}').");
        }

        ValidateSession(changed);
        return changed;
    }

    /// <summary>A copy of <paramref name="message"/>'s own fields, with no parts.</summary>
    public static SessionMessage HeaderOf(SessionMessage message) => new()
    {
        Id = message.Id,
        SessionId = message.SessionId,
        Role = message.Role,
        Parts = [],
        CreatedAt = message.CreatedAt,
        CompletedAt = message.CompletedAt,
        ProviderId = message.ProviderId,
        ModelId = message.ModelId,
        Tokens = message.Tokens,
        Cost = message.Cost,
        IsSummary = message.IsSummary,
        SummarizedThrough = message.SummarizedThrough,
        Error = message.Error,
        FinishReason = message.FinishReason,
    };

    /// <summary>The JSON of a session.</summary>
    public static string SerializeSession(SessionInfo session) =>
        JsonSerializer.Serialize(session, AgentCoreJsonContext.Default.SessionInfo);

    /// <summary>
    /// Reads a stored session: null, with <paramref name="problem"/> saying why (without quoting the content), when the
    /// bytes are not a session AgentCore can serve — not JSON, a field missing, null or of the wrong type, a malformed id, or
    /// (when <paramref name="expectedId"/> is given) another session's id.
    /// </summary>
    public static SessionInfo? ReadSession(ReadOnlySpan<byte> utf8Json, string? expectedId, out string? problem)
    {
        var session = Deserialize(utf8Json, AgentCoreJsonContext.Default.SessionInfo, out problem);
        problem ??= session is null ? "the record holds no session" : CheckSession(session);
        if (problem is null && expectedId is not null && !string.Equals(session!.Id, expectedId, StringComparison.Ordinal))
        {
            problem = "the record holds another session than its key says";
        }

        if (problem is not null)
        {
            return null;
        }

        return session!.Metadata is null ? session with { Metadata = SessionInfo.EmptyMetadata } : session;
    }

    /// <summary>Reads a stored session from JSON text (see the UTF-8 overload).</summary>
    public static SessionInfo? ReadSession(string json, string? expectedId, out string? problem) =>
        ReadSession(Encoding.UTF8.GetBytes(json), expectedId, out problem);

    /// <summary>
    /// Whether <paramref name="a"/> and <paramref name="b"/> have the same creation time and metadata: the keys a SQL
    /// store's listing index holds besides the session's own row, so an update that keeps them need not rewrite them.
    /// </summary>
    public static bool SameListingKeys(SessionInfo a, SessionInfo b)
    {
        if (a.CreatedAt.UtcTicks != b.CreatedAt.UtcTicks || a.Metadata.Count != b.Metadata.Count)
        {
            return false;
        }

        foreach (var (key, value) in a.Metadata)
        {
            if (!b.Metadata.TryGetValue(key, out string? other) || !string.Equals(value, other, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Why a deserialized session cannot be served, or null when it can (a null metadata map is fine: it reads as empty).</summary>
    private static string? CheckSession(SessionInfo session)
    {
        if (!Identifier.IsValid(session.Id, IdKind.Session))
        {
            return "its id is missing or malformed";
        }

        if (session.Title is null)
        {
            return "it has no title";
        }

        if (session.ParentId is not null && !Identifier.IsValid(session.ParentId, IdKind.Session))
        {
            return "its parent id is malformed";
        }

        if (!IsValid(session.Tokens) || session.Cost < 0)
        {
            return "its token or cost totals are negative";
        }

        if (session.Metadata is not null)
        {
            foreach (var pair in session.Metadata)
            {
                if (pair.Key is null || pair.Value is null)
                {
                    return "its metadata holds a null value";
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Checks a message read back from storage: returns why it cannot be served (null when it can) — a malformed id,
    /// another session's id, a blank role, negative usage, a malformed error or summary reference. Parts it cannot serve
    /// (null, unknown, a field missing, null or of the wrong type, see <see cref="CheckPart"/>) are removed, each reported
    /// to <paramref name="skippedParts"/> (when given) with its id (or position) and the reason, and the rest of the message is kept.
    /// </summary>
    public static string? CheckMessage(SessionMessage message, string sessionId, List<(string Part, string Problem)>? skippedParts)
    {
        if (!Identifier.IsValid(message.Id, IdKind.Message))
        {
            return "its id is missing or malformed";
        }

        if (!string.Equals(message.SessionId, sessionId, StringComparison.Ordinal))
        {
            return "it names another session";
        }

        if (string.IsNullOrWhiteSpace(message.Role.Value))
        {
            return "it has no role";
        }

        if (!IsValid(message.Tokens) || message.Cost < 0)
        {
            return "its token counts or cost are negative";
        }

        if (message.Error is { } error && (error.Message is null || !Enum.IsDefined(error.Kind)))
        {
            return "its error is not an error";
        }

        if (message.SummarizedThrough is not null && !Identifier.IsValid(message.SummarizedThrough, IdKind.Message))
        {
            return "its summary names a malformed message id";
        }

        if (message.Parts is null)
        {
            message.Parts = [];
            return null;
        }

        for (int i = 0; i < message.Parts.Count; i++)
        {
            if (CheckPart(message.Parts[i]) is { } problem)
            {
                string part = message.Parts[i] is { Id: { } id } && Identifier.IsValid(id, IdKind.Part) ? id : "#" + i.ToString(CultureInfo.InvariantCulture);
                skippedParts?.Add((part, problem));
                message.Parts.RemoveAt(i--);
            }
        }

        return null;
    }

    /// <summary>
    /// Why a deserialized part cannot be served (null when it can): null, a malformed id, or a field the engine relies
    /// on missing, null or out of range (text, media type, tool call id and name, tool state, usage, attachments).
    /// </summary>
    public static string? CheckPart(MessagePart? part) => part switch
    {
        null => "it is null",
        UnreadablePart unreadable => unreadable.Problem,
        _ when !Identifier.IsValid(part.Id, IdKind.Part) => "its id is missing or malformed",
        TextPart { Text: null } or ReasoningPart { Text: null } => "it has no text",
        FilePart file => string.IsNullOrWhiteSpace(file.MediaType) ? "it has no media type" : null,
        ToolPart tool => CheckTool(tool),
        StepFinishPart step => IsValid(step.Tokens) && step.Cost >= 0 ? null : "its token counts or cost are negative",
        _ => null,
    };

    private static string? CheckTool(ToolPart tool)
    {
        if (string.IsNullOrEmpty(tool.CallId) || string.IsNullOrEmpty(tool.ToolName))
        {
            return "it has no call id or tool name";
        }

        if (!Enum.IsDefined(tool.State))
        {
            return "its state is not a tool state";
        }

        if (tool.Attachments is { } attachments)
        {
            foreach (var attachment in attachments)
            {
                if (CheckPart(attachment) is not null)
                {
                    return "one of its attachments is not a file part";
                }
            }
        }

        return null;
    }

    private static bool IsValid(TokenUsage tokens) =>
        tokens.Input >= 0 && tokens.Output >= 0 && tokens.Reasoning >= 0 && tokens.CacheRead >= 0 && tokens.CacheWrite >= 0;

    /// <summary>
    /// Whether <paramref name="exception"/>, thrown while deserializing a stored record, means the record is unreadable
    /// (malformed JSON, a missing required field, a value the type rejects such as a blank role, an unknown part type).
    /// </summary>
    public static bool IsUnreadable(Exception exception) =>
        exception is JsonException or ArgumentException or NotSupportedException or InvalidOperationException or FormatException or OverflowException;

    /// <summary>
    /// Deserializes a stored record; on an unreadable one (see <see cref="IsUnreadable"/>) returns the default with
    /// <paramref name="problem"/> saying why (see <see cref="Describe"/>), else with <paramref name="problem"/> null.
    /// </summary>
    public static T? Deserialize<T>(ReadOnlySpan<byte> utf8Json, JsonTypeInfo<T> typeInfo, out string? problem)
    {
        try
        {
            problem = null;
            return JsonSerializer.Deserialize(utf8Json, typeInfo);
        }
        catch (Exception ex) when (IsUnreadable(ex))
        {
            problem = Describe(ex);
            return default;
        }
    }

    /// <summary>What went wrong reading a record, for a log: never the exception's message, which may quote the content.</summary>
    public static string Describe(Exception exception) => exception is JsonException json
        ? JsonErrors.Describe(json)
        : $"the record holds a value its type rejects ({exception.GetType().Name})";

    // ---- message fields as columns ----

    /// <summary>The role as stored: its value (<c>user</c>, <c>assistant</c>, ...).</summary>
    public static string RoleValue(ChatRole role) => role.Value;

    /// <summary>The role a stored value names, without allocating for the four well-known roles; null for a blank value.</summary>
    public static ChatRole? Role(ReadOnlySpan<byte> utf8)
    {
        if (WellKnownRole(utf8) is { } known)
        {
            return known;
        }

        string value = Encoding.UTF8.GetString(utf8);
        return string.IsNullOrWhiteSpace(value) ? null : new ChatRole(value);
    }

    /// <summary>One of the four well-known roles when <paramref name="utf8"/> spells it; null otherwise.</summary>
    public static ChatRole? WellKnownRole(ReadOnlySpan<byte> utf8)
    {
        if (utf8.SequenceEqual("assistant"u8))
        {
            return ChatRole.Assistant;
        }

        if (utf8.SequenceEqual("user"u8))
        {
            return ChatRole.User;
        }

        if (utf8.SequenceEqual("system"u8))
        {
            return ChatRole.System;
        }

        if (utf8.SequenceEqual("tool"u8))
        {
            return ChatRole.Tool;
        }

        return null;
    }

    /// <summary>The role a stored value names, reusing the four well-known roles; null for a blank value.</summary>
    public static ChatRole? Role(string value) => value switch
    {
        "assistant" => ChatRole.Assistant,
        "user" => ChatRole.User,
        "system" => ChatRole.System,
        "tool" => ChatRole.Tool,
        _ when string.IsNullOrWhiteSpace(value) => null,
        _ => new ChatRole(value),
    };

    /// <summary>A message's error as stored: JSON (any text survives, NUL included, and new fields need no new column).</summary>
    public static string? SerializeError(MessageError? error) =>
        error is null ? null : JsonSerializer.Serialize(error, AgentCoreJsonContext.Default.MessageError);

    /// <summary>Reads what <see cref="SerializeError"/> wrote; null when it is not an error (not JSON, no message, an unknown kind).</summary>
    public static MessageError? DeserializeError(ReadOnlySpan<byte> utf8Json) =>
        Deserialize(utf8Json, AgentCoreJsonContext.Default.MessageError, out _) is { Message: not null } error && Enum.IsDefined(error.Kind)
            ? error
            : null;

    /// <summary>A UTC instant from ticks; null when the ticks are out of range.</summary>
    public static DateTimeOffset? UtcFromTicks(long ticks) =>
        ticks is >= 0 and <= 3_155_378_975_999_999_999 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>A decimal as invariant text, exactly.</summary>
    public static string FormatDecimal(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Reads what <see cref="FormatDecimal"/> wrote, from ASCII bytes; null when they are not a number.</summary>
    public static decimal? ParseDecimal(ReadOnlySpan<byte> ascii)
    {
        if (ascii.Length == 1 && ascii[0] == (byte)'0')
        {
            return 0m;
        }

        if (ascii.IsEmpty || ascii.Length > 64)
        {
            return null;
        }

        Span<char> chars = stackalloc char[ascii.Length];
        if (System.Text.Ascii.ToUtf16(ascii, chars, out int written) != System.Buffers.OperationStatus.Done)
        {
            return null;
        }

        return decimal.TryParse(chars[..written], NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out decimal value)
            ? value
            : null;
    }

    /// <summary>
    /// Returns <paramref name="last"/> when it spells <paramref name="utf8"/> (ASCII), else decodes the bytes and
    /// remembers the string: repeated values (provider and model ids, finish reasons) share one string per load.
    /// </summary>
    public static string CachedString(ReadOnlySpan<byte> utf8, ref string? last)
    {
        if (last is not null && System.Text.Ascii.Equals(utf8, last))
        {
            return last;
        }

        return last = Encoding.UTF8.GetString(utf8);
    }

    // ---- parts ----

    /// <summary>
    /// A part as the database stores it: its type, its JSON (null for text and reasoning parts, which are an id
    /// and their text) and, for text and reasoning parts, the text as UTF-8 (so it can grow by appends).
    /// </summary>
    public static (string Type, string? Json, byte[]? Text) SplitPart(MessagePart part)
    {
        switch (part)
        {
            case TextPart text:
                return (TextType, null, Encoding.UTF8.GetBytes(text.Text));
            case ReasoningPart reasoning:
                return (ReasoningType, null, Encoding.UTF8.GetBytes(reasoning.Text));
            default:
                byte[] json = JsonSerializer.SerializeToUtf8Bytes(part, AgentCoreJsonContext.Default.MessagePart);
                return (TypeOf(json), Encoding.UTF8.GetString(json), null);
        }
    }

    /// <summary>A text or reasoning part read from its columns; null when <paramref name="type"/> is neither.</summary>
    public static MessagePart? TextualPart(ReadOnlySpan<byte> type, string id, ReadOnlySpan<byte> text)
    {
        if (type.SequenceEqual("text"u8))
        {
            return new TextPart { Id = id, Text = Encoding.UTF8.GetString(text) };
        }

        if (type.SequenceEqual("reasoning"u8))
        {
            return new ReasoningPart { Id = id, Text = Encoding.UTF8.GetString(text) };
        }

        return null;
    }

    /// <summary>A text or reasoning part read from its columns; null when <paramref name="type"/> is neither.</summary>
    public static MessagePart? TextualPart(string type, string id, string text) => type switch
    {
        TextType => new TextPart { Id = id, Text = text },
        ReasoningType => new ReasoningPart { Id = id, Text = text },
        _ => null,
    };

    /// <summary>
    /// Reads a part stored as JSON: null, with <paramref name="problem"/> saying why (without quoting the content), when it
    /// is not a part AgentCore can serve (see <see cref="CheckPart"/>) or not the part with the id <paramref name="id"/>.
    /// </summary>
    public static MessagePart? ReadPart(ReadOnlySpan<byte> utf8Json, string id, out string? problem)
    {
        var part = Deserialize(utf8Json, AgentCoreJsonContext.Default.MessagePart, out problem);
        problem ??= CheckPart(part) ?? (part!.Id == id ? null : "the row holds another part than its key says");
        return problem is null ? part : null;
    }

    /// <summary>The text a <see cref="TextPart"/> or <see cref="ReasoningPart"/> grew by, as UTF-8; null for other parts.</summary>
    public static byte[]? AppendableText(MessagePart part, string? appendedText) =>
        appendedText is not null && part is TextPart or ReasoningPart ? Encoding.UTF8.GetBytes(appendedText) : null;

    private static string TypeOf(ReadOnlySpan<byte> json)
    {
        // The polymorphic serializer writes the discriminator first.
        var reader = new Utf8JsonReader(json);
        if (reader.Read() && reader.TokenType == JsonTokenType.StartObject && reader.Read() && reader.ValueTextEquals("type"u8)
            && reader.Read() && reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString()!;
        }

        throw new InvalidOperationException("A message part serialized without its type discriminator first.");
    }

    // ---- schema 1, read only by the migrations ----

    /// <summary>
    /// Schema 1: reads a message's own fields from JSON (parts come separately); null, with <paramref name="problem"/> saying
    /// why, when the row is not a well-formed message <paramref name="id"/> of session <paramref name="sessionId"/>.
    /// </summary>
    public static SessionMessage? ReadHeaderV1(string json, string sessionId, string id, out string? problem)
    {
        try
        {
            var message = JsonSerializer.Deserialize(json, AgentCoreJsonContext.Default.SessionMessage);
            if (message is not null && Identifier.IsValid(message.Id, IdKind.Message) && Identifier.IsValid(message.SessionId, IdKind.Session)
                && message.Id == id && message.SessionId == sessionId)
            {
                message.Parts = [];
                problem = null;
                return message;
            }

            problem = "the row holds no message with its id";
        }
        catch (JsonException ex)
        {
            problem = JsonErrors.Describe(ex);
        }

        return null;
    }

    /// <summary>
    /// Schema 1: reads a part from its JSON and its text column; null, with <paramref name="problem"/> saying why, when the
    /// JSON is not a well-formed part with the id <paramref name="id"/>.
    /// </summary>
    public static MessagePart? ReadPartV1(string json, byte[]? text, string id, out string? problem)
    {
        MessagePart? part;
        try
        {
            part = JsonSerializer.Deserialize(json, AgentCoreJsonContext.Default.MessagePart);
        }
        catch (JsonException ex)
        {
            problem = JsonErrors.Describe(ex);
            return null;
        }

        if (part?.Id is null || part.Id != id)
        {
            problem = "the row holds no part with its id";
            return null;
        }

        if (text is not null)
        {
            string decoded = Encoding.UTF8.GetString(text);
            switch (part)
            {
                case TextPart t:
                    t.Text = decoded;
                    break;
                case ReasoningPart r:
                    r.Text = decoded;
                    break;
            }
        }

        problem = null;
        return part;
    }
}
