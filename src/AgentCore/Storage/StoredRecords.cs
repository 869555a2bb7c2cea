using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace AgentCore.Storage;

/// <summary>
/// The store-author API: what every <see cref="ISessionStore"/> needs to keep AgentCore's records the way AgentCore's own
/// stores do — the checks of what it is asked to save (well-formed ids, a role, no null part), the read-modify-write of
/// <see cref="ISessionStore.UpdateSessionAsync"/>, AgentCore's JSON of sessions, messages, parts and errors, and the
/// checks of what it reads back, so a corrupt record is skipped with a warning instead of failing a read.
/// </summary>
/// <remarks>
/// <para>The file, SQLite and PostgreSQL stores use exactly these members, as a third-party store would. The JSON is
/// AgentCore's source-generated shape (see <see cref="AgentCoreJson"/>); a store may keep some fields in columns
/// of its own instead, as the database stores do (they keep every field of <see cref="SessionMessage"/> except
/// <see cref="SessionMessage.Parts"/> in a column, and text and reasoning parts without JSON: a field added to either
/// type needs a column, a schema migration, in both database stores; <c>StoredColumnsTests</c> in AgentCore.Sqlite.Tests
/// fails until then).</para>
/// <para>A <c>Read…</c> method returns null with a <c>problem</c> saying why when the record cannot be served; the
/// problem never quotes the record's content, so it can be logged as the reason of a warning.</para>
/// </remarks>
public static class StoredRecords
{
    /// <summary>Checks a session a store is asked to save: not null, with a well-formed id and parent id.</summary>
    /// <param name="session">The session to save.</param>
    /// <exception cref="ArgumentNullException"><paramref name="session"/> is null.</exception>
    /// <exception cref="ArgumentException">Its id or parent id is malformed (the message names the value).</exception>
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
    /// Checks a message a store is asked to save: not null, with a well-formed message id and session id, a role, and
    /// parts that are not null, so that no store writes a record it could not read back.
    /// </summary>
    /// <param name="message">The message to save.</param>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is null.</exception>
    /// <exception cref="ArgumentException">An id is malformed, the role is blank, or the parts or one of them is null (the message says which).</exception>
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

    /// <summary>
    /// Checks the arguments of <see cref="ISessionStore.SavePartAsync"/>: the message as <see cref="ValidateMessage"/> does,
    /// and the part not null, with a well-formed part id.
    /// </summary>
    /// <param name="message">The message the part belongs to.</param>
    /// <param name="part">The part to save.</param>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> or <paramref name="part"/> is null.</exception>
    /// <exception cref="ArgumentException">The message is not valid (see <see cref="ValidateMessage"/>) or the part's id is malformed.</exception>
    public static void ValidatePart(SessionMessage message, MessagePart part)
    {
        ValidateMessage(message);
        ArgumentNullException.ThrowIfNull(part);
        Identifier.Validate(part.Id, IdKind.Part, nameof(part));
    }

    /// <summary>
    /// Checks the arguments of <see cref="ISessionStore.SavePartsAsync"/>: the message as <see cref="ValidateMessage"/> does,
    /// and every change's part not null, with a well-formed part id, and no part id named by two changes.
    /// </summary>
    /// <param name="message">The message the parts belong to.</param>
    /// <param name="changes">The changes to save.</param>
    /// <exception cref="ArgumentNullException"><paramref name="message"/>, <paramref name="changes"/> or a change's part is null.</exception>
    /// <exception cref="ArgumentException">
    /// The message is not valid (see <see cref="ValidateMessage"/>), a part's id is malformed, or two changes name the same
    /// part (the message names its id).
    /// </exception>
    public static void ValidateParts(SessionMessage message, IReadOnlyList<MessagePartChange> changes)
    {
        ValidateMessage(message);
        ArgumentNullException.ThrowIfNull(changes);
        for (int i = 0; i < changes.Count; i++)
        {
            var part = changes[i].Part ?? throw new ArgumentNullException(nameof(changes), $"Change {i} of message '{message.Id}' has no part.");
            Identifier.Validate(part.Id, IdKind.Part, nameof(changes));
        }

        if (changes.Count > 1)
        {
            ThrowIfPartRepeated(message, changes);
        }
    }

    // A step's batch is a handful of changes: compare pairwise then, a set beyond.
    private static void ThrowIfPartRepeated(SessionMessage message, IReadOnlyList<MessagePartChange> changes)
    {
        const int PairwiseLimit = 16;
        if (changes.Count <= PairwiseLimit)
        {
            for (int i = 1; i < changes.Count; i++)
            {
                string id = changes[i].Part.Id;
                for (int j = 0; j < i; j++)
                {
                    if (string.Equals(changes[j].Part.Id, id, StringComparison.Ordinal))
                    {
                        throw new ArgumentException(RepeatedPart(message, id), nameof(changes));
                    }
                }
            }

            return;
        }

        var seen = new HashSet<string>(changes.Count, StringComparer.Ordinal);
        for (int i = 0; i < changes.Count; i++)
        {
            if (!seen.Add(changes[i].Part.Id))
            {
                throw new ArgumentException(RepeatedPart(message, changes[i].Part.Id), nameof(changes));
            }
        }
    }

    private static string RepeatedPart(SessionMessage message, string partId)
        => $"Part '{partId}' of message '{message.Id}' is named by more than one change; name each part at most once.";

    /// <summary>Checks the arguments of <see cref="ISessionStore.DeleteMessagesAsync"/>: well-formed ids.</summary>
    /// <param name="sessionId">The session whose messages are deleted.</param>
    /// <param name="messageIds">The ids of the messages to delete.</param>
    /// <exception cref="ArgumentNullException">An argument or one of the ids is null.</exception>
    /// <exception cref="ArgumentException">An id is malformed (the message names the value).</exception>
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
    /// <param name="current">The session as stored.</param>
    /// <param name="update">The caller's function.</param>
    /// <returns>The session to save, or null when there is nothing to save (return <paramref name="current"/> then).</returns>
    /// <exception cref="ArgumentNullException">An argument is null, or <paramref name="update"/> returned null.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="update"/> changed the session's id.</exception>
    /// <exception cref="ArgumentException"><paramref name="update"/> returned a malformed parent id (see <see cref="ValidateSession"/>).</exception>
    public static SessionInfo? ApplyUpdate(SessionInfo current, Func<SessionInfo, SessionInfo> update)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(update);
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
    internal static SessionMessage HeaderOf(SessionMessage message) => MessageCopies.WithParts(message, []);

    /// <summary>The JSON of a session, as <see cref="ReadSession(ReadOnlySpan{byte}, string?, out string?)"/> reads it.</summary>
    /// <param name="session">The session.</param>
    /// <returns>The session as JSON.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="session"/> is null.</exception>
    public static string SerializeSession(SessionInfo session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return JsonSerializer.Serialize(session, AgentCoreJsonContext.Default.SessionInfo);
    }

    /// <summary>
    /// Reads a stored session: null, with <paramref name="problem"/> saying why (without quoting the content), when the
    /// bytes are not a session AgentCore can serve — not JSON, a field missing, null or of the wrong type, a malformed id, or
    /// (when <paramref name="expectedId"/> is given) another session's id.
    /// </summary>
    /// <param name="utf8Json">The stored JSON, UTF-8.</param>
    /// <param name="expectedId">The id the record is stored under, or null not to check it.</param>
    /// <param name="problem">Why the record cannot be served; null when it can.</param>
    /// <returns>The session (its metadata never null), or null.</returns>
    public static SessionInfo? ReadSession(ReadOnlySpan<byte> utf8Json, string? expectedId, out string? problem)
    {
        // The one-pass reader decides the usual record; anything else is the serializer's, as it always was.
        SessionInfo? session = null;
        problem = null;
        if (!SessionJsonReader.TryRead(utf8Json, out session))
        {
            session = Deserialize(utf8Json, AgentCoreJsonContext.Default.SessionInfo, out problem);
        }


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
    /// <param name="json">The stored JSON.</param>
    /// <param name="expectedId">The id the record is stored under, or null not to check it.</param>
    /// <param name="problem">Why the record cannot be served; null when it can.</param>
    /// <returns>The session (its metadata never null), or null.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is null.</exception>
    public static SessionInfo? ReadSession(string json, string? expectedId, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(json);
        return ReadSession(Encoding.UTF8.GetBytes(json), expectedId, out problem);
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
    /// Null parts read as an empty list.
    /// </summary>
    /// <param name="message">The message as read (its parts may be changed).</param>
    /// <param name="sessionId">The session it is stored under.</param>
    /// <param name="skippedParts">Receives each removed part's id (or <c>#position</c>) and why; may be null.</param>
    /// <returns>Why the message cannot be served, or null when it can.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is null.</exception>
    public static string? CheckMessage(SessionMessage message, string sessionId, ICollection<(string Part, string Problem)>? skippedParts = null)
    {
        ArgumentNullException.ThrowIfNull(message);
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
    /// <param name="part">The part as read.</param>
    /// <returns>Why the part cannot be served, or null when it can.</returns>
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
    internal static bool IsUnreadable(Exception exception) =>
        exception is JsonException or ArgumentException or NotSupportedException or InvalidOperationException or FormatException or OverflowException;

    /// <summary>
    /// Deserializes a stored record; on an unreadable one (see <see cref="IsUnreadable"/>) returns the default with
    /// <paramref name="problem"/> saying why (see <see cref="Describe"/>), else with <paramref name="problem"/> null.
    /// </summary>
    internal static T? Deserialize<T>(ReadOnlySpan<byte> utf8Json, JsonTypeInfo<T> typeInfo, out string? problem)
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

    /// <summary>
    /// Deserializes a stored record as <see cref="Deserialize"/> does; when it holds none (JSON <c>null</c>),
    /// <paramref name="problem"/> is <paramref name="none"/>.
    /// </summary>
    private static T? DeserializeRecord<T>(ReadOnlySpan<byte> utf8Json, JsonTypeInfo<T> typeInfo, string none, out string? problem)
        where T : class
    {
        var record = Deserialize(utf8Json, typeInfo, out problem);
        if (record is null)
        {
            problem ??= none;
        }

        return record;
    }

    /// <summary>What went wrong reading a record, for a log: never the exception's message, which may quote the content.</summary>
    internal static string Describe(Exception exception) => exception is JsonException json
        ? JsonErrors.Describe(json)
        : $"the record holds a value its type rejects ({exception.GetType().Name})";

    /// <summary>A message's error as JSON (any text survives, NUL included, and a new field needs no new column).</summary>
    /// <param name="error">The error, or null.</param>
    /// <returns>The JSON, or null for no error.</returns>
    public static string? SerializeError(MessageError? error) =>
        error is null ? null : JsonSerializer.Serialize(error, AgentCoreJsonContext.Default.MessageError);

    /// <summary>Reads what <see cref="SerializeError"/> wrote; null when it is not an error (not JSON, no message, an unknown kind).</summary>
    /// <param name="utf8Json">The stored JSON, UTF-8.</param>
    /// <returns>The error, or null.</returns>
    public static MessageError? DeserializeError(ReadOnlySpan<byte> utf8Json) =>
        Deserialize(utf8Json, AgentCoreJsonContext.Default.MessageError, out _) is { Message: not null } error && Enum.IsDefined(error.Kind)
            ? error
            : null;

    /// <summary>The JSON of a message, parts included, as <see cref="DeserializeMessage"/> reads it.</summary>
    /// <param name="message">The message.</param>
    /// <returns>The message as UTF-8 JSON.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is null.</exception>
    public static byte[] SerializeMessage(SessionMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return JsonSerializer.SerializeToUtf8Bytes(message, AgentCoreJsonContext.Default.SessionMessage);
    }

    /// <summary>
    /// Deserializes a stored message without checking it: null, with <paramref name="problem"/> saying why, when the bytes
    /// are not the JSON of a message. Check the result with <see cref="CheckMessage"/> before serving it.
    /// </summary>
    /// <param name="utf8Json">The stored JSON, UTF-8.</param>
    /// <param name="problem">Why the bytes are not a message; null when they are.</param>
    /// <returns>The message, or null.</returns>
    public static SessionMessage? DeserializeMessage(ReadOnlySpan<byte> utf8Json, out string? problem) =>
        DeserializeRecord(utf8Json, AgentCoreJsonContext.Default.SessionMessage, "the record holds no message", out problem);

    /// <summary>The JSON of a part, its <c>type</c> discriminator first, as <see cref="ReadPart"/> reads it.</summary>
    /// <param name="part">The part.</param>
    /// <returns>The part as UTF-8 JSON.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="part"/> is null.</exception>
    public static byte[] SerializePart(MessagePart part)
    {
        ArgumentNullException.ThrowIfNull(part);
        return JsonSerializer.SerializeToUtf8Bytes(part, AgentCoreJsonContext.Default.MessagePart);
    }

    /// <summary>
    /// Deserializes a stored part without checking it (see <see cref="ReadPart"/> for the checked read): null, with
    /// <paramref name="problem"/> saying why, when the bytes are not the JSON of a part of a known type.
    /// </summary>
    /// <param name="utf8Json">The stored JSON, UTF-8.</param>
    /// <param name="problem">Why the bytes are not a part; null when they are.</param>
    /// <returns>The part, or null.</returns>
    public static MessagePart? DeserializePart(ReadOnlySpan<byte> utf8Json, out string? problem) =>
        DeserializeRecord(utf8Json, AgentCoreJsonContext.Default.MessagePart, "the record holds no part", out problem);

    /// <summary>
    /// Reads a part stored as JSON: null, with <paramref name="problem"/> saying why, when it is not a part AgentCore can
    /// serve (see <see cref="CheckPart"/>) or not the part with the id <paramref name="id"/>.
    /// </summary>
    /// <param name="utf8Json">The stored JSON, UTF-8.</param>
    /// <param name="id">The id the part is stored under.</param>
    /// <param name="problem">Why the part cannot be served; null when it can.</param>
    /// <returns>The part, or null.</returns>
    public static MessagePart? ReadPart(ReadOnlySpan<byte> utf8Json, string id, out string? problem)
    {
        // The one-pass reader decides the usual part; anything else is the serializer's, as it always was.
        problem = null;
        if (!MessageJsonReader.TryReadPart(utf8Json, out var part))
        {
            part = Deserialize(utf8Json, AgentCoreJsonContext.Default.MessagePart, out problem);
        }

        problem ??= CheckPart(part) ?? (part!.Id == id ? null : "the row holds another part than its key says");
        return problem is null ? part : null;
    }
}
