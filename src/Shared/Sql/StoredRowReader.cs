using System.Data.Common;
using System.Text;
using AgentCore.Storage;
using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>
/// Reads the SQL stores' rows back into sessions, messages and parts, skipping a corrupt row with a warning: the row
/// mapping, the merge of a session's parts into its messages, and the schema 1 readers of the migrations, shared by the
/// SQLite and PostgreSQL stores.
/// </summary>
/// <remarks>
/// <para>Linked source (<c>src/Shared/Sql</c>), compiled into each SQL store package as an internal type. The columns
/// each method expects are listed on it; the stores select them in that order.</para>
/// <para>Warnings name the session, message and part ids and why, never the row's content.</para>
/// </remarks>
internal sealed partial class StoredRowReader
{
    private readonly ILogger _logger;

    /// <summary>Creates a reader that logs its warnings to <paramref name="logger"/> (the store's).</summary>
    public StoredRowReader(ILogger logger) => _logger = logger;

    /// <summary>The columns of a message row, in order.</summary>
    public const string MessageColumns =
        "id, role, created_at, completed_at, provider_id, model_id, input_tokens, output_tokens, reasoning_tokens, " +
        "cache_read_tokens, cache_write_tokens, cost, is_summary, summarized_through, finish_reason, error";

    /// <summary>The columns of a part row, in order.</summary>
    public const string PartColumns = "message_id, id, type, data, text";

    /// <summary>A session read from its JSON; null (with a warning) when it is corrupt or another session's.</summary>
    public SessionInfo? Session(string id, string json)
    {
        if (StoredRecords.ReadSession(json, id, out string? problem) is { } session)
        {
            return session;
        }

        LogCorruptSession(_logger, id, problem!);
        return null;
    }

    /// <summary>A session from a row of (data, id); null (with a warning) when the row is corrupt.</summary>
    public SessionInfo? Session<TRow>(TRow row)
        where TRow : IStoredRow
    {
        string? problem;
        if (StoredRecords.ReadSession(row.Bytes(0), expectedId: null, out problem) is { } session)
        {
            if (Ascii.Equals(row.Bytes(1), session.Id))
            {
                return session;
            }

            problem = "the record holds another session than its key says";
        }

        LogCorruptSession(_logger, row.String(1), problem!);
        return null;
    }

    /// <summary>The sessions of rows of (id, data) that have metadata: schema 3's data step, in both stores.</summary>
    public async Task<List<SessionInfo>> SessionsWithMetadataAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        var sessions = new List<SessionInfo>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (Session(reader.GetString(0), reader.GetString(1)) is { Metadata.Count: > 0 } session)
            {
                sessions.Add(session);
            }
        }

        return sessions;
    }

    /// <summary>Starts reading a session's messages: add the message rows, then the part rows.</summary>
    public MessageRows Messages(string sessionId) => new(this, sessionId);

    /// <summary>Starts reading a session's messages from the schema 1 tables (JSON), for the migration to schema 2.</summary>
    public Schema1Copy Schema1(string sessionId) => new(this, sessionId);

    /// <summary>A message's own fields from a row of <see cref="MessageColumns"/>; null (with a warning) when the row is corrupt.</summary>
    private SessionMessage? Message<TRow>(TRow row, string sessionId, ref (string? Provider, string? Model, string? Finish) last)
        where TRow : IStoredRow
    {
        string id = row.String(0);
        string? problem;
        DateTimeOffset? completedAt = null;
        MessageError? error = null;
        // The id, the role and the values' ranges are StoredRecords.CheckMessage's to judge; here, what the columns hold.
        if (!row.IsInteger(2) || StoredValues.UtcFromTicks(row.Int64(2)) is not { } createdAt)
        {
            problem = "its creation time is not a time";
        }
        else if (!row.IsNull(3) && (!row.IsInteger(3) || (completedAt = StoredValues.UtcFromTicks(row.Int64(3))) is null))
        {
            problem = "its completion time is not a time";
        }
        else if (!row.IsInteger(6) || !row.IsInteger(7) || !row.IsInteger(8) || !row.IsInteger(9) || !row.IsInteger(10) || !row.IsInteger(12))
        {
            problem = "its token counts or summary flag are not integers";
        }
        else if (StoredValues.ParseDecimal(row.Bytes(11)) is not { } cost)
        {
            problem = "its cost is not a number";
        }
        else if (!row.IsNull(15) && (error = StoredRecords.DeserializeError(row.Bytes(15))) is null)
        {
            problem = "its error is not an error";
        }
        else
        {
            var message = new SessionMessage
            {
                Id = id,
                SessionId = sessionId,
                Role = StoredValues.Role(row.Bytes(1)) ?? default,
                CreatedAt = createdAt,
                CompletedAt = completedAt,
                ProviderId = row.IsNull(4) ? null : StoredValues.CachedString(row.Bytes(4), ref last.Provider),
                ModelId = row.IsNull(5) ? null : StoredValues.CachedString(row.Bytes(5), ref last.Model),
                Tokens = new TokenUsage(row.Int64(6), row.Int64(7), row.Int64(8), row.Int64(9), row.Int64(10)),
                Cost = cost,
                IsSummary = row.Int64(12) != 0,
                SummarizedThrough = row.IsNull(13) ? null : row.String(13),
                FinishReason = row.IsNull(14) ? null : StoredValues.CachedString(row.Bytes(14), ref last.Finish),
                Error = error,
            };
            if ((problem = StoredRecords.CheckMessage(message, sessionId)) is null)
            {
                return message;
            }
        }

        LogCorruptMessage(_logger, sessionId, id, problem);
        return null;
    }

    /// <summary>A part from a row of <see cref="PartColumns"/>; null (with a warning) when the row is corrupt.</summary>
    private MessagePart? Part<TRow>(TRow row, SessionMessage message)
        where TRow : IStoredRow
    {
        string id = row.String(1);
        string problem;
        if (!AgentCoreIds.IsValidPartId(id))
        {
            problem = "its id is malformed";
        }
        else if (row.IsNull(3))
        {
            if (StoredParts.Textual(row.Bytes(2), id, row.IsNull(4) ? default : row.Bytes(4)) is { } textual)
            {
                return textual;
            }

            problem = "it has no JSON and is not a text or reasoning part";
        }
        else if (StoredRecords.ReadPart(row.Bytes(3), id, out string? bad) is { } part)
        {
            return part;
        }
        else
        {
            problem = bad!;
        }

        LogCorruptPart(_logger, message.SessionId, message.Id, id, problem);
        return null;
    }

    /// <summary>Compares an ASCII id with UTF-8 bytes byte by byte (SQLite's BINARY collation, PostgreSQL's "C").</summary>
    private static int CompareAscii(string id, ReadOnlySpan<byte> utf8)
    {
        int length = Math.Min(id.Length, utf8.Length);
        for (int i = 0; i < length; i++)
        {
            int difference = id[i] - utf8[i];
            if (difference != 0)
            {
                return difference;
            }
        }

        return id.Length - utf8.Length;
    }

    /// <summary>
    /// A session's messages as they are read: the message rows (by id) first, then the part rows (by message id and
    /// position), merged in order; parts of a corrupt or missing message are skipped.
    /// </summary>
    internal sealed class MessageRows(StoredRowReader owner, string sessionId)
    {
        private (string? Provider, string? Model, string? Finish) _last;
        private int _at;

        /// <summary>The messages read so far.</summary>
        public List<SessionMessage> Messages { get; } = [];

        /// <summary>Adds a message from a row of <see cref="MessageColumns"/> (skipped, with a warning, when corrupt).</summary>
        public void AddMessage<TRow>(TRow row)
            where TRow : IStoredRow
        {
            if (owner.Message(row, sessionId, ref _last) is { } message)
            {
                Messages.Add(message);
            }
        }

        /// <summary>Adds a part from a row of <see cref="PartColumns"/> to its message; false once no message is left to add to.</summary>
        public bool AddPart<TRow>(TRow row)
            where TRow : IStoredRow
        {
            var messages = Messages;
            int order = 0;
            while (_at < messages.Count && (order = CompareAscii(messages[_at].Id, row.Bytes(0))) < 0)
            {
                _at++;
            }

            if (_at == messages.Count)
            {
                return false;
            }

            if (order == 0 && owner.Part(row, messages[_at]) is { } part)
            {
                messages[_at].Parts.Add(part);
            }

            return true;
        }
    }

    /// <summary>
    /// Schema 2's data step: a session's messages read from schema 1's tables (a message's JSON, a part's JSON and text
    /// column) as schema 1 was read, corrupt rows skipped with a warning, for the migration to write anew.
    /// </summary>
    internal sealed class Schema1Copy(StoredRowReader owner, string sessionId)
    {
        private readonly Dictionary<string, SessionMessage> _byId = new(StringComparer.Ordinal);

        /// <summary>The messages read, in id order, with their parts.</summary>
        public List<SessionMessage> Messages { get; } = [];

        /// <summary>Adds the messages of rows of (id, data), in id order.</summary>
        public async Task AddMessagesAsync(DbDataReader reader, CancellationToken cancellationToken)
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                string id = reader.GetString(0);
                var message = StoredRecords.DeserializeMessage(Encoding.UTF8.GetBytes(reader.GetString(1)), out string? problem);
                if (message is not null && (!AgentCoreIds.IsValidMessageId(message.Id) || !AgentCoreIds.IsValidSessionId(message.SessionId)
                    || message.Id != id || message.SessionId != sessionId))
                {
                    (message, problem) = (null, "the row holds no message with its id");
                }

                if (message is null)
                {
                    LogCorruptMessage(owner._logger, sessionId, id, problem!);
                    continue;
                }

                message.Parts = [];
                Messages.Add(message);
                _byId[id] = message;
            }
        }

        /// <summary>Adds the parts of rows of (message_id, id, data, text), in message and position order, to their messages.</summary>
        public async Task AddPartsAsync(DbDataReader reader, CancellationToken cancellationToken)
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (_byId.TryGetValue(reader.GetString(0), out var message)
                    && Part(message, reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3)) is { } part)
                {
                    message.Parts.Add(part);
                }
            }
        }

        private MessagePart? Part(SessionMessage message, string id, string json, byte[]? text)
        {
            var part = StoredRecords.DeserializePart(Encoding.UTF8.GetBytes(json), out string? problem);
            if (part is not null && part.Id != id)
            {
                (part, problem) = (null, "the row holds no part with its id");
            }

            if (part is null)
            {
                LogCorruptPart(owner._logger, sessionId, message.Id, id, problem!);
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

            return part;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt session {SessionId}: {Reason}")]
    private static partial void LogCorruptSession(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt message {MessageId} of session {SessionId}: {Reason}")]
    private static partial void LogCorruptMessage(ILogger logger, string sessionId, string messageId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt part {PartId} of message {MessageId} of session {SessionId}: {Reason}")]
    private static partial void LogCorruptPart(ILogger logger, string sessionId, string messageId, string partId, string reason);
}
