using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>The lifecycle of whole sessions: fork, revert and unrevert, export and import, purge.</summary>
internal sealed partial class SessionService
{
    private static readonly JsonTypeInfo<SessionExportDocument> ExportWriteInfo = ExportTypeInfo(writeIndented: true);
    private static readonly JsonTypeInfo<SessionExportDocument> ExportReadInfo = ExportTypeInfo(writeIndented: false);

    /// <inheritdoc />
    public async Task<SessionInfo> ForkAsync(string sessionId, string? atMessageId = null, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        if (atMessageId is not null)
        {
            Identifier.Validate(atMessageId, IdKind.Message, nameof(atMessageId));
        }

        SessionInfo fork;
        var lease = await Locks.TryAcquireAsync(sessionId, cancellationToken).ConfigureAwait(false)
                    ?? throw new SessionBusyException(sessionId);
        await using (lease.ConfigureAwait(false))
        {
            var source = await GetAsync(sessionId, cancellationToken).ConfigureAwait(false);
            var messages = SessionRuntime.InConversation(source, await Store.GetMessagesAsync(sessionId, cancellationToken).ConfigureAwait(false));
            int last = messages.Count - 1;
            if (atMessageId is not null)
            {
                last = IndexOf(messages, atMessageId);
                if (last < 0)
                {
                    throw new ArgumentException($"Session '{sessionId}' has no message '{atMessageId}' in its conversation.", nameof(atMessageId));
                }
            }

            var now = Time.GetUtcNow();
            string forkId = Identifier.Create(IdKind.Session, Time);
            var copies = CopyMessages(messages.Take(last + 1), forkId);
            // Totals counted from the copies alone (with a checkpoint): usage of no message, a title's, stays with the source.
            fork = SessionTotals.Reconcile(
                new SessionInfo
                {
                    Id = forkId,
                    ParentId = source.Id,
                    Title = source.Title + " (fork)",
                    CreatedAt = now,
                    UpdatedAt = now,
                    Metadata = new Dictionary<string, string>(source.Metadata, StringComparer.Ordinal),
                },
                copies);

            // The session last: until it is written, a fork cut short by a crash is invisible.
            await WriteSessionAsync(fork, copies, cancellationToken).ConfigureAwait(false);
        }

        await Events.PublishAsync(new SessionCreated(fork.Id, fork)).ConfigureAwait(false);
        return fork;
    }

    /// <inheritdoc />
    public async Task<SessionInfo> RevertAsync(string sessionId, string toMessageId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        Identifier.Validate(toMessageId, IdKind.Message, nameof(toMessageId));
        var lease = await Locks.TryAcquireAsync(sessionId, cancellationToken).ConfigureAwait(false)
                    ?? throw new SessionBusyException(sessionId);
        await using var leaseScope = lease.ConfigureAwait(false);
        var session = await GetAsync(sessionId, cancellationToken).ConfigureAwait(false);
        var messages = SessionRuntime.InConversation(session, await Store.GetMessagesAsync(sessionId, cancellationToken).ConfigureAwait(false));
        int index = IndexOf(messages, toMessageId);
        if (index < 0)
        {
            throw new ArgumentException($"Session '{sessionId}' has no message '{toMessageId}' in its conversation.", nameof(toMessageId));
        }

        if (index == messages.Count - 1)
        {
            return session; // nothing after it
        }

        // Fail now, not at the next turn, when the store cannot discard the reverted messages.
        await Store.DeleteMessagesAsync(sessionId, [], cancellationToken).ConfigureAwait(false);
        // The totals counted again over the messages kept (keeping the usage of no message, see SessionTotals).
        var kept = messages.Take(index + 1).ToList();
        return await _runtime.ChangeSessionAsync(sessionId, s => SessionTotals.Reconcile(s, kept) with { RevertedAfter = toMessageId }, cancellationToken, holdingLock: true)
                   .ConfigureAwait(false)
               ?? throw new SessionNotFoundException(sessionId);
    }

    /// <inheritdoc />
    public async Task<SessionInfo> UnrevertAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        var lease = await Locks.TryAcquireAsync(sessionId, cancellationToken).ConfigureAwait(false)
                    ?? throw new SessionBusyException(sessionId);
        await using var leaseScope = lease.ConfigureAwait(false);
        var session = await GetAsync(sessionId, cancellationToken).ConfigureAwait(false);
        if (session.RevertedAfter is null)
        {
            return session;
        }

        var all = await Store.GetMessagesAsync(sessionId, cancellationToken).ConfigureAwait(false);
        return await _runtime.ChangeSessionAsync(sessionId, s => SessionTotals.Reconcile(s, all) with { RevertedAfter = null }, cancellationToken, holdingLock: true)
                   .ConfigureAwait(false)
               ?? throw new SessionNotFoundException(sessionId);
    }

    /// <inheritdoc />
    public async Task ExportAsync(string sessionId, Stream destination, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        ArgumentNullException.ThrowIfNull(destination);
        if (!destination.CanWrite)
        {
            throw new ArgumentException("The stream to export to is not writable.", nameof(destination));
        }

        var session = await GetAsync(sessionId, cancellationToken).ConfigureAwait(false);
        var messages = await Store.GetMessagesAsync(sessionId, cancellationToken).ConfigureAwait(false);
        var document = new SessionExportDocument
        {
            Format = SessionExportFormat.Name,
            Version = SessionExportFormat.Version,
            Session = session,
            Messages = [.. messages],
        };
        await JsonSerializer.SerializeAsync(destination, document, ExportWriteInfo, cancellationToken).ConfigureAwait(false);
        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<SessionInfo> ImportAsync(Stream source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!source.CanRead)
        {
            throw new ArgumentException("The stream to import from is not readable.", nameof(source));
        }

        byte[] content = await ReadBoundedAsync(source, cancellationToken).ConfigureAwait(false);
        var (session, messages) = ParseExport(content);

        string id = session.Id;
        var gate = _runtime.GateOf(id);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (await Store.GetSessionAsync(id, cancellationToken).ConfigureAwait(false) is not null
                || (await Store.GetMessagesAsync(id, cancellationToken).ConfigureAwait(false)).Count > 0)
            {
                id = Identifier.Create(IdKind.Session, Time);
                foreach (var message in messages)
                {
                    message.SessionId = id;
                }
            }

            // The totals are derived state: brought in line with the messages (unchanged when the file's were right).
            session = SessionTotals.Reconcile(session with { Id = id }, SessionRuntime.InConversation(session, messages));
            await WriteSessionAsync(session, messages, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }

        await Events.PublishAsync(new SessionCreated(session.Id, session)).ConfigureAwait(false);
        return session;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> PurgeAsync(DateTimeOffset olderThan, CancellationToken cancellationToken = default)
    {
        var candidates = new List<string>();
        await foreach (var session in Store.ListSessionsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (session.UpdatedAt < olderThan)
            {
                candidates.Add(session.Id);
            }
        }

        var purged = new List<string>();
        foreach (string id in candidates)
        {
            var lease = await Locks.TryAcquireAsync(id, cancellationToken).ConfigureAwait(false);
            if (lease is null)
            {
                LogPurgeSkippedBusy(id);
                continue;
            }

            await using var leaseScope = lease.ConfigureAwait(false);

            // Read again under the lock: a turn may have run since the listing.
            if (await Store.GetSessionAsync(id, cancellationToken).ConfigureAwait(false) is not { } current || current.UpdatedAt >= olderThan)
            {
                continue;
            }

            if (await Store.DeleteSessionAsync(id, cancellationToken).ConfigureAwait(false))
            {
                purged.Add(id);
                await Events.PublishHoldingLockAsync(new SessionDeleted(id)).ConfigureAwait(false);
            }
        }

        if (purged.Count > 0)
        {
            try
            {
                int entries = await _runtime.History.DeleteSessionsAsync(purged, cancellationToken).ConfigureAwait(false);
                LogPurged(purged.Count, entries);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogPurgeHistoryFailed(ex, purged.Count);
            }
        }

        return purged;
    }

    private static int IndexOf(IReadOnlyList<SessionMessage> messages, string messageId)
    {
        for (int i = 0; i < messages.Count; i++)
        {
            if (string.Equals(messages[i].Id, messageId, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Deep copies of <paramref name="messages"/> for session <paramref name="sessionId"/>, in order, with new ascending message and part ids.</summary>
    private List<SessionMessage> CopyMessages(IEnumerable<SessionMessage> messages, string sessionId)
    {
        var newIds = new List<(string Old, string New)>();
        var copies = new List<SessionMessage>();
        foreach (var message in messages)
        {
            var copy = message.DeepCopy();
            copy.Id = Identifier.Create(IdKind.Message, Time);
            copy.SessionId = sessionId;
            foreach (var part in copy.Parts)
            {
                part.Id = Identifier.Create(IdKind.Part, Time);
            }

            newIds.Add((message.Id, copy.Id));
            copies.Add(copy);
        }

        foreach (var copy in copies)
        {
            if (copy.SummarizedThrough is { } through)
            {
                // The copy of the last copied message at or before the one the summary covers.
                string? mapped = null;
                foreach (var (old, @new) in newIds)
                {
                    if (string.CompareOrdinal(old, through) > 0)
                    {
                        break;
                    }

                    mapped = @new;
                }

                copy.SummarizedThrough = mapped;
            }
        }

        return copies;
    }

    /// <summary>Writes a new session's messages, then the session; on failure removes what was written.</summary>
    private async Task WriteSessionAsync(SessionInfo session, IReadOnlyList<SessionMessage> messages, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var message in messages)
            {
                await Store.SaveMessageAsync(message, cancellationToken).ConfigureAwait(false);
            }

            await Store.SaveSessionAsync(session, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            try
            {
                await Store.DeleteSessionAsync(session.Id, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception cleanup)
            {
                LogCleanupFailed(cleanup, session.Id);
            }

            throw;
        }
    }

    private static async Task<byte[]> ReadBoundedAsync(Stream source, CancellationToken cancellationToken)
    {
        if (source.CanSeek && source.Length - source.Position > SessionExportFormat.MaxBytes)
        {
            throw TooLarge();
        }

        using var buffer = new MemoryStream();
        byte[] chunk = new byte[81920];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > SessionExportFormat.MaxBytes)
            {
                throw TooLarge();
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();

        static InvalidDataException TooLarge() =>
            new($"The session export is larger than the {SessionExportFormat.MaxBytes} bytes an import reads (SessionExportFormat.MaxBytes).");
    }

    /// <summary>Parses and checks a whole export; throws <see cref="InvalidDataException"/> naming what is wrong.</summary>
    internal static (SessionInfo Session, List<SessionMessage> Messages) ParseExport(byte[] content)
    {
        // One forward pass first: well-formed JSON (not truncated), nested no deeper than the limit, and the root's
        // "format" and "version" (the last of each, as the serializer reads them), checked before the shape is.
        var reader = new Utf8JsonReader(content, new JsonReaderOptions { MaxDepth = SessionExportFormat.MaxDepth * 4 });
        var root = JsonTokenType.None;
        string? format = null;
        int? version = null;
        try
        {
            while (reader.Read())
            {
                if (reader.CurrentDepth >= SessionExportFormat.MaxDepth)
                {
                    throw Invalid($"it is nested deeper than {SessionExportFormat.MaxDepth} levels (SessionExportFormat.MaxDepth)");
                }

                if (root == JsonTokenType.None)
                {
                    root = reader.TokenType;
                }
                else if (reader is { CurrentDepth: 1, TokenType: JsonTokenType.PropertyName })
                {
                    if (reader.ValueTextEquals("format"u8))
                    {
                        reader.Read();
                        format = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    }
                    else if (reader.ValueTextEquals("version"u8))
                    {
                        reader.Read();
                        version = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int number) ? number : null;
                    }
                }
            }
        }
        catch (JsonException ex)
        {
            throw Invalid(JsonReason(ex), ex);
        }

        if (root != JsonTokenType.StartObject)
        {
            throw Invalid($"the document is a JSON {KindOf(root)}, not an object");
        }

        if (format != SessionExportFormat.Name)
        {
            throw Invalid($"its \"format\" is not \"{SessionExportFormat.Name}\"");
        }

        if (version is not { } found)
        {
            throw Invalid("it has no integer \"version\"");
        }

        if (found != SessionExportFormat.Version)
        {
            throw Invalid(found > SessionExportFormat.Version
                ? $"it is version {found}, newer than this AgentCore reads (version {SessionExportFormat.Version}); upgrade AgentCore to import it"
                : $"version {found} is not a version of the format (this AgentCore reads version {SessionExportFormat.Version})");
        }

        SessionExportDocument export;
        try
        {
            export = JsonSerializer.Deserialize(content, ExportReadInfo) ?? throw Invalid("the document is null");
        }
        catch (JsonException ex)
        {
            throw Invalid(JsonReason(ex), ex);
        }

        var session = export.Session ?? throw Invalid("it has no \"session\"");
        Check(Identifier.IsValid(session.Id, IdKind.Session), "session.id is not a valid session id");
        Check(session.Title is not null, "session.title is missing");
        Check(session.ParentId is null || Identifier.IsValid(session.ParentId, IdKind.Session), "session.parentId is not a valid session id");
        Check(session.RevertedAfter is null || Identifier.IsValid(session.RevertedAfter, IdKind.Message), "session.revertedAfter is not a valid message id");
        Check(session.TotalsCheckpoint?.MessageId is null || Identifier.IsValid(session.TotalsCheckpoint.MessageId, IdKind.Message), "session.totalsCheckpoint.messageId is not a valid message id");
        if (session.Metadata is null)
        {
            session = session with { Metadata = SessionInfo.EmptyMetadata };
        }

        Check(session.Metadata.Values.All(static v => v is not null), "session.metadata has a null value");

        var messages = export.Messages ?? throw Invalid("it has no \"messages\" array");
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < messages.Count; i++)
        {
            string at = $"messages[{i}]";
            var message = messages[i] ?? throw Invalid($"{at} is null");
            Check(Identifier.IsValid(message.Id, IdKind.Message), $"{at}.id is not a valid message id");
            Check(ids.Add(message.Id), $"{at}.id '{message.Id}' appears twice");
            Check(string.Equals(message.SessionId, session.Id, StringComparison.Ordinal), $"{at}.sessionId is not the session's id");
            Check(!string.IsNullOrEmpty(message.Role.Value), $"{at}.role is missing");
            Check(message.SummarizedThrough is null || Identifier.IsValid(message.SummarizedThrough, IdKind.Message), $"{at}.summarizedThrough is not a valid message id");
            Check(message.Parts is not null, $"{at}.parts is null");
            var partIds = new HashSet<string>(StringComparer.Ordinal);
            for (int j = 0; j < message.Parts!.Count; j++)
            {
                string partAt = $"{at}.parts[{j}]";
                var part = message.Parts[j] ?? throw Invalid($"{partAt} is null");
                Check(Identifier.IsValid(part.Id, IdKind.Part), $"{partAt}.id is not a valid part id");
                Check(partIds.Add(part.Id), $"{partAt}.id '{part.Id}' appears twice in the message");
                Check(part switch
                {
                    TextPart text => text.Text is not null,
                    ReasoningPart reasoning => reasoning.Text is not null,
                    FilePart file => file.MediaType is not null,
                    ToolPart tool => tool.CallId is not null && tool.ToolName is not null && (tool.Attachments?.All(static a => a is { MediaType: not null }) ?? true),
                    _ => true,
                }, $"{partAt} is missing a required value");
            }
        }

        Check(session.RevertedAfter is null || ids.Contains(session.RevertedAfter), "session.revertedAfter names no message of the export");
        messages.Sort(static (a, b) => string.CompareOrdinal(a.Id, b.Id));
        return (session, messages);

        static void Check(bool condition, string reason)
        {
            if (!condition)
            {
                throw Invalid(reason);
            }
        }
    }

    private static string KindOf(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        _ => "null",
    };

    private static InvalidDataException Invalid(string reason, Exception? inner = null) =>
        new($"The stream is not a valid AgentCore session export: {reason}. Nothing was imported.", inner);

    private static string JsonReason(JsonException exception) =>
        $"it is {JsonErrors.Describe(exception).Replace("the record", "an export", StringComparison.Ordinal)}" +
        (exception.LineNumber is { } line ? $" (line {line + 1}); it may be truncated or hold a value of the wrong type" : "");

    private static JsonTypeInfo<SessionExportDocument> ExportTypeInfo(bool writeIndented)
    {
        var options = new JsonSerializerOptions(AgentCoreJsonContext.Default.Options)
        {
            WriteIndented = writeIndented,
            MaxDepth = SessionExportFormat.MaxDepth + 1,
        };
        options.MakeReadOnly();
        return (JsonTypeInfo<SessionExportDocument>)options.GetTypeInfo(typeof(SessionExportDocument));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Purged {Count} sessions and {Entries} usage history entries")]
    private partial void LogPurged(int count, int entries);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId} is running a turn; the purge skipped it")]
    private partial void LogPurgeSkippedBusy(string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Purged {Count} sessions, but deleting their usage history entries failed")]
    private partial void LogPurgeHistoryFailed(Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: removing a partly written copy failed")]
    private partial void LogCleanupFailed(Exception exception, string sessionId);
}
