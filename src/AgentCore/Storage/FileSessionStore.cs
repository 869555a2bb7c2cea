using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentCore.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentCore;

/// <summary>
/// The default <see cref="ISessionStore"/>: plain files under <see cref="AgentCoreOptions.DataDirectory"/>.
/// </summary>
/// <remarks>
/// <para>Layout: <c>sessions/&lt;id&gt;.json</c> holds one session: created atomically (temporary file and rename),
/// then each change appended as the whole session on a new line, the last whole line being the session, and rewritten
/// atomically with the one current record once it grows past a few kilobytes (see <see cref="FileSessionFile"/>); <c>messages/&lt;session id&gt;.jsonl</c> is an append-only journal of the session's messages: whole
/// messages, single parts, text appended to a streaming part, and messages completed after their parts were written
/// (only what changed), one JSON record a line; a record leaves out what this store's own earlier records hold only while
/// the journal is as it left it (checked under the session's lock). Loading replays it;
/// a journal a read found well past its messages is rewritten compactly, again atomically, by the next write to it
/// (reads never write, so a read-only data folder serves every read).</para>
/// <para>Safe for many threads and several processes on one directory: every write of a session's files — journal
/// appends and rewrites, session writes and <see cref="UpdateSessionAsync"/> — takes the session's one lock,
/// <c>locks/&lt;id&gt;.session.lock</c> (see <see cref="FileAppender"/>);
/// readers skip an unterminated last line, so they never see half a record.
/// A corrupt file or line (or part) is skipped with a warning naming where, never the content. Listing sessions reads no
/// message; it reads <c>sessions.index</c>, one file holding every session file's current record as the last listing read them, while the
/// <c>sessions</c> folder is unchanged since, and otherwise reads every session file and writes the index anew (best
/// effort: a cache, never needed, skipped on a read-only folder). A write the disk refuses (read-only, full, no permission) fails at once with an error naming the file.</para>
/// </remarks>
public sealed partial class FileSessionStore : ISessionStore
{
    private const string SessionsFolder = "sessions";
    private const string MessagesFolder = "messages";
    private readonly string _sessionsDirectory;
    private readonly string _messagesDirectory;
    private readonly ILogger _logger;
    private readonly FileSessionListing _listing;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> _lastHeaders = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _compactionDue = new(StringComparer.Ordinal);

    // Of the open messages this store writes (by session id/message id): the JSON of their own fields and of their parts as
    // its last records left them, and the length it left each journal at (what was remembered holds only while no one
    // else wrote to the journal since).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Dictionary<string, byte[]>> _lastParts = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _journalEnds = new(StringComparer.Ordinal);

    /// <summary>Creates a store under <paramref name="dataDirectory"/> (created when first written).</summary>
    /// <param name="dataDirectory">The folder under which sessions and messages are written.</param>
    /// <param name="logger">The logger; null for none.</param>
    /// <exception cref="ArgumentException"><paramref name="dataDirectory"/> is null, empty or white space.</exception>
    public FileSessionStore(string dataDirectory, ILogger<FileSessionStore>? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        string root = Path.GetFullPath(dataDirectory);
        DataDirectory = root;
        _sessionsDirectory = Path.Combine(root, SessionsFolder);
        _messagesDirectory = Path.Combine(root, MessagesFolder);
        _logger = logger ?? NullLogger<FileSessionStore>.Instance;
        _listing = new FileSessionListing(root, _sessionsDirectory);
    }

    /// <summary>Creates a store under the configured <see cref="AgentCoreOptions.DataDirectory"/>.</summary>
    /// <param name="options">AgentCore's options.</param>
    /// <param name="logger">The logger; null for none.</param>
    public FileSessionStore(IOptions<AgentCoreOptions> options, ILogger<FileSessionStore>? logger = null)
        : this(options.Value.DataDirectory, logger)
    {
    }

    /// <summary>The folder the store keeps its files in (a full path).</summary>
    internal string DataDirectory { get; }

    /// <inheritdoc />
    public async ValueTask<SessionInfo?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        return await ReadSessionFileAsync(SessionPath(sessionId), sessionId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SessionInfo> ListSessionsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(_sessionsDirectory))
        {
            yield break;
        }

        // From the listing index when it is current, else from every session file (see FileSessionListing).
        var listing = await _listing.ReadAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (sessionId, problem) in listing.Unreadable)
        {
            LogCorruptFile(sessionId, SessionPath(sessionId), problem);
        }

        foreach (var session in listing.Sessions)
        {
            yield return session;
        }
    }

    /// <inheritdoc />
    public async ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateSession(session);
        var record = JsonLine.Serialize(session, AgentCoreJsonContext.Default.SessionInfo);
        await using (await FileAppender.LockAsync(SessionLockPath(session.Id), cancellationToken).ConfigureAwait(false))
        {
            await WriteSessionLockedAsync(SessionPath(session.Id), record, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes a session record under the session file's lock: appended to the session file when it exists and stays short
    /// enough, else written as a new file of the one record (temporary file and rename; see <see cref="FileSessionFile"/>).
    /// </summary>
    private async ValueTask WriteSessionLockedAsync(string path, ReadOnlyMemory<byte> record, CancellationToken cancellationToken)
    {
        // An append changes no folder entry: the listing is told by the folder's time, set before the append (so an index
        // built before it is stale even if the process dies right after the append) and after it (so is one whose scan read
        // the file in between). Should the first fail, the rewrite's rename changes the folder instead; the change is
        // stored once the append returns, so the second's failure is logged, not thrown.
        if (MarkListing(afterAppend: false) && FileAppender.TryAppendExisting(path, record, FileSessionFile.RewriteAt, "session file"))
        {
            if (!MarkListing(afterAppend: true))
            {
                LogListingNotMarked(path);
            }

            return;
        }

        await FileAppender.WriteAtomicAsync(path, record, "session file", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// For tests: replaces the setting of the sessions folder's time around a session file append (given whether it is
    /// the one after the append; returns whether the time was set), to stand in for a failure or a crash between the two.
    /// </summary>
    internal Func<FileSessionListing, bool, bool>? MarkListingOverride { get; set; }

    private bool MarkListing(bool afterAppend) =>
        MarkListingOverride is { } mark ? mark(_listing, afterAppend) : _listing.MarkChanged();

    /// <inheritdoc />
    /// <remarks>
    /// Atomic across threads and processes: the read, <paramref name="update"/> and the write happen under the session
    /// file's lock (<c>locks/&lt;id&gt;.session.lock</c>), which every write of the session file takes.
    /// </remarks>
    public async ValueTask<SessionInfo?> UpdateSessionAsync(string sessionId, Func<SessionInfo, SessionInfo> update, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        ArgumentNullException.ThrowIfNull(update);
        string path = SessionPath(sessionId);
        if (!File.Exists(path))
        {
            return null; // Nothing to lock: a session file is never created by an update.
        }

        await using (await FileAppender.LockAsync(SessionLockPath(sessionId), cancellationToken).ConfigureAwait(false))
        {
            if (await ReadSessionFileAsync(path, sessionId, cancellationToken).ConfigureAwait(false) is not { } current)
            {
                return null;
            }

            if (StoredRecords.ApplyUpdate(current, update) is not { } changed)
            {
                return current;
            }

            var record = JsonLine.Serialize(changed, AgentCoreJsonContext.Default.SessionInfo);
            await WriteSessionLockedAsync(path, record, cancellationToken).ConfigureAwait(false);
            return changed;
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        string sessionPath = SessionPath(sessionId);
        string journal = JournalPath(sessionId);
        if (!File.Exists(sessionPath) && !File.Exists(journal))
        {
            return false;
        }

        bool deleted;
        // One lock guards the session file and the journal (see SessionLockPath).
        await using (await FileAppender.LockAsync(SessionLockPath(sessionId), cancellationToken).ConfigureAwait(false))
        {
            // The session first: should the process die in between, the leftover journal is found and deleted next time.
            deleted = DeleteIfExists(sessionPath) | DeleteIfExists(journal);

            // The journal appends keep it open with the lock file: closed now, so the deleted file's space is freed.
            FileAppender.CloseKept(SessionLockPath(sessionId));
        }

        // A message of the session written again starts a new journal: its next record must be self-contained.
        _journalEnds.TryRemove(journal, out _);
        ForgetSession(sessionId);

        // The lock file stays: deleting it would let a writer that opened it before the delete hold a lock
        // no later writer sees (they would create and lock a new file of the same name).
        return deleted;
    }

    private static bool DeleteIfExists(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        return true;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        string journal = JournalPath(sessionId);
        var replay = await ReplayAsync(journal, sessionId, log: true, cancellationToken).ConfigureAwait(false);
        if (replay.NeedsCompaction)
        {
            // A read never writes (the folder may be read-only): the next write to the journal compacts it.
            _compactionDue[journal] = true;
        }

        return replay.Messages;
    }

    /// <inheritdoc />
    /// <remarks>
    /// A message this store has been writing part by part is saved as a delta when no other writer touched the journal
    /// since: its own fields, the parts that changed since their last record, and the ids of all its parts in order.
    /// </remarks>
    public ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateMessage(message);
        var header = StoredRecords.HeaderOf(message);
        byte[] headerJson = JsonSerializer.SerializeToUtf8Bytes(header, AgentCoreJsonContext.Default.SessionMessage);
        string key = HeaderKey(message.SessionId, message.Id);
        var whole = new JournalRecord { Kind = JournalRecord.WholeMessage, Message = message };
        var partJson = new Dictionary<string, byte[]>(message.Parts.Count, StringComparer.Ordinal);
        foreach (var part in message.Parts)
        {
            partJson[part.Id] = JsonSerializer.SerializeToUtf8Bytes(part, AgentCoreJsonContext.Default.MessagePart);
        }

        JournalRecord? delta = null;
        if (_lastParts.TryGetValue(key, out var written))
        {
            lock (written)
            {
                header.Parts = message.Parts.Where(p => !written.TryGetValue(p.Id, out var last) || !last.AsSpan().SequenceEqual(partJson[p.Id])).ToList();
            }

            delta = new JournalRecord { Kind = JournalRecord.Delta, Message = header, PartIds = message.Parts.Select(static p => p.Id).ToList() };
        }

        return SaveRememberedAsync(message, headerJson, SerializeLine(delta ?? whole), delta is null ? null : () => SerializeLine(whole), partJson, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask SavePartAsync(SessionMessage message, MessagePart part, string? appendedText = null, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidatePart(message, part);
        return SaveChangesAsync(message, [new MessagePartChange(part, appendedText)], cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The changes go to the session's journal in one append (one write): a record per change, the message's own fields
    /// with the first when they changed. A crash that tears the write leaves the records before the tear, each whole; the
    /// rest of the batch is not there.
    /// </remarks>
    public ValueTask SavePartsAsync(SessionMessage message, IReadOnlyList<MessagePartChange> changes, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateParts(message, changes);
        return changes.Count == 0 ? SaveMessageAsync(message, cancellationToken) : SaveChangesAsync(message, changes, cancellationToken);
    }

    /// <summary>Appends a record per change of <paramref name="message"/>'s parts, all in one write, and remembers what the journal now holds of it.</summary>
    private async ValueTask SaveChangesAsync(SessionMessage message, IReadOnlyList<MessagePartChange> changes, CancellationToken cancellationToken)
    {
        var header = StoredRecords.HeaderOf(message);
        // The message's own fields go with the first record only when they changed since this store last wrote them (and
        // no other writer touched the journal since: else the first record carries them anyway).
        bool headerChanged = HeaderChanged(header, out byte[] headerJson);
        var records = new JournalRecord[changes.Count];
        for (int i = 0; i < changes.Count; i++)
        {
            records[i] = ChangeRecord(message.Id, i == 0 && headerChanged ? header : null, changes[i]);
        }

        var line = SerializeLines(records);
        Func<ReadOnlyMemory<byte>>? selfContained = headerChanged ? null : () =>
        {
            records[0] = ChangeRecord(message.Id, header, changes[0]);
            return SerializeLines(records);
        };

        // A whole part's JSON is remembered (a later whole-message save writes it again only if it changed); a part that
        // text was appended to is forgotten (null), so that save writes it whole.
        var partJson = new byte[]?[changes.Count];
        for (int i = 0; i < changes.Count; i++)
        {
            partJson[i] = changes[i].AppendedText is null ? JsonSerializer.SerializeToUtf8Bytes(changes[i].Part, AgentCoreJsonContext.Default.MessagePart) : null;
        }

        string key = HeaderKey(message.SessionId, message.Id);
        if (!await AppendRememberingHeaderAsync(message, key, line, selfContained, headerJson, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var written = _lastParts.GetOrAdd(key, static _ => new Dictionary<string, byte[]>(StringComparer.Ordinal));
        lock (written)
        {
            for (int i = 0; i < changes.Count; i++)
            {
                if (partJson[i] is { } json)
                {
                    written[changes[i].Part.Id] = json;
                }
                else
                {
                    written.Remove(changes[i].Part.Id);
                }
            }
        }
    }

    /// <summary>
    /// The record of one change: text appended to a part (<c>t</c>) or a whole part (<c>p</c>), with the message's own
    /// fields when <paramref name="header"/> is given, else naming the message by id.
    /// </summary>
    private static JournalRecord ChangeRecord(string messageId, SessionMessage? header, MessagePartChange change) =>
        change.AppendedText is { } text
            ? new JournalRecord { Kind = JournalRecord.AppendedText, MessageId = messageId, PartId = change.Part.Id, Text = text, Message = header }
            : header is not null
                ? new JournalRecord { Kind = JournalRecord.OnePart, Message = header, Part = change.Part }
                : new JournalRecord { Kind = JournalRecord.OnePart, MessageId = messageId, Part = change.Part };

    /// <inheritdoc />
    /// <remarks>
    /// The journal's length, last write time and creation time: an append makes it longer, and a rewrite (a compaction,
    /// deleted messages) replaces it by a new file. Read from the file system, so a write by another process counts too.
    /// </remarks>
    public ValueTask<string?> GetMessagesStampAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        var journal = new FileInfo(JournalPath(sessionId));
        return ValueTask.FromResult<string?>(journal.Exists
            ? string.Create(CultureInfo.InvariantCulture, $"{journal.Length}:{journal.LastWriteTimeUtc.Ticks}:{journal.CreationTimeUtc.Ticks}")
            : "none");
    }

    /// <inheritdoc />
    /// <remarks>Rewrites the session's journal without those messages, atomically (temporary file and rename), under its lock.</remarks>
    public async ValueTask<int> DeleteMessagesAsync(string sessionId, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateMessageIds(sessionId, messageIds);
        if (messageIds.Count == 0)
        {
            return 0;
        }

        var doomed = new HashSet<string>(messageIds, StringComparer.Ordinal);
        string journal = JournalPath(sessionId);
        await using (await FileAppender.LockAsync(SessionLockPath(sessionId), cancellationToken).ConfigureAwait(false))
        {
            var replay = await ReplayAsync(journal, sessionId, log: false, cancellationToken).ConfigureAwait(false);
            var kept = replay.Messages.Where(m => !doomed.Contains(m.Id)).ToList();
            int deleted = replay.Messages.Count - kept.Count;
            if (deleted > 0)
            {
                // Lines that could not be read are kept verbatim, as a compaction keeps them.
                await FileAppender.WriteAtomicAsync(journal, SerializeCompact(replay with { Messages = kept }), "message journal", cancellationToken).ConfigureAwait(false);
                _compactionDue.TryRemove(journal, out _);
                _journalEnds.TryRemove(journal, out _);
                ForgetSession(sessionId);
            }

            return deleted;
        }
    }

    /// <summary>
    /// Whether the message's own fields differ from the ones this store last wrote for it (their JSON in
    /// <paramref name="json"/>). Part records carry the fields only then, so streaming writes a few bytes per append;
    /// the memory is dropped when the message completes.
    /// </summary>
    private bool HeaderChanged(SessionMessage header, out byte[] json)
    {
        json = JsonSerializer.SerializeToUtf8Bytes(header, AgentCoreJsonContext.Default.SessionMessage);
        return !_lastHeaders.TryGetValue(HeaderKey(header.SessionId, header.Id), out var last) || !last.AsSpan().SequenceEqual(json);
    }

    /// <summary>Appends a whole-message (or delta) record, then remembers what the journal now holds of the message.</summary>
    private async ValueTask SaveRememberedAsync(
        SessionMessage message, byte[] headerJson, ReadOnlyMemory<byte> record, Func<ReadOnlyMemory<byte>>? selfContained, Dictionary<string, byte[]> partJson,
        CancellationToken cancellationToken)
    {
        string key = HeaderKey(message.SessionId, message.Id);
        if (await AppendRememberingHeaderAsync(message, key, record, selfContained, headerJson, cancellationToken).ConfigureAwait(false))
        {
            _lastParts[key] = partJson;
        }
    }

    /// <summary>
    /// Appends a record of <paramref name="message"/> (remembered under <paramref name="key"/>), then remembers its header
    /// JSON: true when the message is still open; false when it is complete, and everything remembered of it is forgotten.
    /// </summary>
    private async ValueTask<bool> AppendRememberingHeaderAsync(
        SessionMessage message, string key, ReadOnlyMemory<byte> record, Func<ReadOnlyMemory<byte>>? selfContained, byte[] headerJson,
        CancellationToken cancellationToken)
    {
        await AppendForgettingOnFailureAsync(message, record, selfContained, cancellationToken).ConfigureAwait(false);
        if (message.CompletedAt is not null)
        {
            _lastHeaders.TryRemove(key, out _);
            _lastParts.TryRemove(key, out _);
            return false;
        }

        _lastHeaders[key] = headerJson;
        return true;
    }

    /// <summary>
    /// Appends a record of <paramref name="message"/>; when the append fails, forgets what was remembered of the message,
    /// so that its next record is self-contained (the journal may not have the last one).
    /// </summary>
    private async ValueTask AppendForgettingOnFailureAsync(
        SessionMessage message, ReadOnlyMemory<byte> record, Func<ReadOnlyMemory<byte>>? selfContained, CancellationToken cancellationToken)
    {
        try
        {
            await AppendAsync(message.SessionId, record, selfContained, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            string key = HeaderKey(message.SessionId, message.Id);
            _lastHeaders.TryRemove(key, out _);
            _lastParts.TryRemove(key, out _);
            throw;
        }
    }

    private static string HeaderKey(string sessionId, string messageId) => sessionId + "/" + messageId;

    /// <summary>Forgets what this store remembers of the messages of <paramref name="sessionId"/>: their next records are self-contained.</summary>
    private void ForgetSession(string sessionId)
    {
        string prefix = sessionId + "/";
        foreach (string key in _lastHeaders.Keys)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                _lastHeaders.TryRemove(key, out _);
            }
        }

        foreach (string key in _lastParts.Keys)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                _lastParts.TryRemove(key, out _);
            }
        }
    }

    /// <summary>
    /// Appends <paramref name="line"/> (one or more records) to the session's journal — or, when
    /// <paramref name="selfContained"/> is given and the journal is not as this store last left it (another writer appended
    /// or rewrote it, or this store has not written it yet), the records <paramref name="selfContained"/> builds, which need
    /// nothing remembered.
    /// </summary>
    private async ValueTask AppendAsync(string sessionId, ReadOnlyMemory<byte> line, Func<ReadOnlyMemory<byte>>? selfContained, CancellationToken cancellationToken)
    {
        string journal = JournalPath(sessionId);
        if (!_compactionDue.TryRemove(journal, out _))
        {
            await FileAppender.AppendAsync(SessionLockPath(sessionId), journal, before =>
            {
                // Runs under the session's lock: the length tells whether anyone else wrote since this store's last record.
                bool asLeft = _journalEnds.TryGetValue(journal, out long end) && end == before;
                if (!asLeft)
                {
                    ForgetSession(sessionId);
                }

                var chosen = asLeft || selfContained is null ? line : selfContained();
                _journalEnds[journal] = before + chosen.Length;
                return (chosen, asLeft); // As left: it ends with this store's last record, so with a newline.
            }, "message journal", cancellationToken).ConfigureAwait(false);
            return;
        }

        await using (await FileAppender.LockAsync(SessionLockPath(sessionId), cancellationToken).ConfigureAwait(false))
        {
            // A read found the journal well past its messages: rewrite it compactly (replayed again under the lock,
            // a writer may have appended since), then append a self-contained record.
            _journalEnds.TryRemove(journal, out _);
            ForgetSession(sessionId);
            var replay = await ReplayAsync(journal, sessionId, log: false, cancellationToken).ConfigureAwait(false);
            if (replay.NeedsCompaction)
            {
                await FileAppender.WriteAtomicAsync(journal, SerializeCompact(replay), "message journal", cancellationToken).ConfigureAwait(false);
            }

            var chosen = selfContained is null ? line : selfContained();
            await FileAppender.AppendLockedAsync(journal, chosen, "message journal", cancellationToken).ConfigureAwait(false);
        }
    }

    private static ReadOnlyMemory<byte> SerializeLine(JournalRecord record) =>
        JsonLine.Serialize(record, AgentCoreJsonContext.Default.JournalRecord);

    /// <summary>The records as journal lines, one after the other, for one append.</summary>
    private static ReadOnlyMemory<byte> SerializeLines(JournalRecord[] records) =>
        JsonLine.SerializeAll(records, AgentCoreJsonContext.Default.JournalRecord);

    /// <summary>
    /// The journal rewritten: every message whole, after the lines that could not be read, kept verbatim so that a
    /// compaction never throws away what a person may still recover by hand.
    /// </summary>
    private static byte[] SerializeCompact(Replay replay)
    {
        using var stream = new MemoryStream();
        foreach (var corrupt in replay.CorruptLines)
        {
            stream.Write(corrupt);
            stream.WriteByte((byte)'\n');
        }

        foreach (var message in replay.Messages)
        {
            stream.Write(SerializeLine(new JournalRecord { Kind = JournalRecord.WholeMessage, Message = message }).Span);
        }

        return stream.ToArray();
    }

    /// <summary>Reads and replays the journal (synchronously: see <see cref="ReadJournal"/>).</summary>
    private ValueTask<Replay> ReplayAsync(string journal, string sessionId, bool log, CancellationToken cancellationToken) =>
        ValueTask.FromResult(ReadJournal(journal, sessionId, log, cancellationToken));

    /// <summary>Reads and replays the journal.</summary>
    /// <remarks>
    /// The file is read synchronously: .NET's asynchronous file reads on Unix run the same synchronous reads on a thread-pool
    /// thread in chunks, which costs more hops and copies and frees no thread.
    /// </remarks>
    private Replay ReadJournal(string journal, string sessionId, bool log, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // A new session has no journal yet: answer that without an exception (the catches below cover a journal
        // deleted between this check and the read; anything else at that path, a folder say, still fails the read).
        if (!Path.Exists(journal))
        {
            return new Replay([], [], false);
        }

        // Read into a pooled buffer: a long session's journal is megabytes, and every record is copied out of it.
        byte[] buffer;
        int length;
        try
        {
            (buffer, length) = ReadPooled(journal);
        }
        catch (FileNotFoundException)
        {
            return new Replay([], [], false);
        }
        catch (DirectoryNotFoundException)
        {
            return new Replay([], [], false);
        }

        try
        {
            return ReplayContent(buffer.AsMemory(0, length), journal, sessionId, log, cancellationToken);
        }
        finally
        {
            // Cleared: the journal holds conversation text, which must not stay in arrays other code of the process rents.
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }

    /// <summary>The whole file at <paramref name="path"/> in a buffer from <see cref="ArrayPool{T}.Shared"/> (return it), and its length.</summary>
    private static (byte[] Buffer, int Length) ReadPooled(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        long size = RandomAccess.GetLength(handle);
        if (size > Array.MaxLength)
        {
            throw new IOException($"The journal {path} is too large to read ({size} bytes).");
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, (int)size));
        int length = 0;
        try
        {
            // Read to the end, growing when the file grew since its length was taken (a writer appending).
            while (true)
            {
                if (length == buffer.Length)
                {
                    byte[] larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
                    buffer = larger;
                }

                int read = RandomAccess.Read(handle, buffer.AsSpan(length), length);
                if (read == 0)
                {
                    return (buffer, length);
                }

                length += read;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
            throw;
        }
    }

    /// <summary>Replays the journal's <paramref name="content"/>.</summary>
    private Replay ReplayContent(ReadOnlyMemory<byte> content, string journal, string sessionId, bool log, CancellationToken cancellationToken)
    {
        // Find the complete lines; an unterminated tail is a record still being written (or torn by a crash): not there yet.
        var text = content.Span;
        var lines = new List<(int Start, int Length, int Number)>(text.Count((byte)'\n'));
        int lineNumber = 0;
        for (int start = 0; start < text.Length;)
        {
            int end = text[start..].IndexOf((byte)'\n');
            if (end < 0)
            {
                break;
            }

            end += start;
            lineNumber++;
            if (end > start)
            {
                lines.Add((start, end - start, lineNumber));
            }

            start = end + 1;
        }

        // Parse in parallel (the expensive part), then apply in order. The usual record is read in one pass
        // (MessageJsonReader); anything else by the serializer, as always.
        var records = new JournalRecord?[lines.Count];
        var errors = new string?[lines.Count];
        MessageJsonReader Parse(int i, MessageJsonReader fast)
        {
            var line = content.Span.Slice(lines[i].Start, lines[i].Length);
            if (!fast.TryReadJournalRecord(line, out records[i]))
            {
                using var tolerant = MessagePartListJsonConverter.Tolerant();
                records[i] = StoredRecords.Deserialize(line, AgentCoreJsonContext.Default.JournalRecord, out errors[i]);
            }

            return fast;
        }

        if (lines.Count >= 512)
        {
            Parallel.For(
                0, lines.Count, new ParallelOptions { CancellationToken = cancellationToken },
                () => new MessageJsonReader(sessionId), (i, _, fast) => Parse(i, fast), static _ => { });
        }
        else
        {
            var fast = new MessageJsonReader(sessionId);
            for (int i = 0; i < lines.Count; i++)
            {
                Parse(i, fast);
            }
        }

        var byId = new Dictionary<string, SessionMessage>(lines.Count, StringComparer.Ordinal);
        var corrupt = new List<byte[]>();
        var skippedParts = log ? new List<(string Part, string Problem)>() : null;
        for (int i = 0; i < lines.Count; i++)
        {
            int number = lines[i].Number;
            var line = content.Span.Slice(lines[i].Start, lines[i].Length);
            string? problem = errors[i] ?? (records[i] is { } record ? Apply(byId, record, sessionId, skippedParts) : "the line holds no record");
            if (skippedParts is { Count: > 0 })
            {
                foreach (var (part, reason) in skippedParts)
                {
                    LogUnreadablePart(sessionId, records[i]!.Message!.Id, part, journal, number, reason);
                }

                skippedParts.Clear();
            }

            if (problem is not null)
            {
                corrupt.Add(line.ToArray());
                if (log)
                {
                    LogCorruptLine(sessionId, MessageIdOf(records[i], line), journal, number, problem);
                }
            }
        }

        var messages = byId.Values.ToList();
        if (!IsInIdOrder(messages))
        {
            messages.Sort(static (a, b) => string.CompareOrdinal(a.Id, b.Id));
        }
        return new Replay(messages, corrupt, lines.Count - corrupt.Count > messages.Count * 4 + 64);
    }

    /// <summary>Whether <paramref name="messages"/> are in id order already (a journal is usually appended in that order).</summary>
    private static bool IsInIdOrder(List<SessionMessage> messages)
    {
        for (int i = 1; i < messages.Count; i++)
        {
            if (string.CompareOrdinal(messages[i - 1].Id, messages[i].Id) > 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The message id a journal line names, when it names a well-formed one (for logs): from the record, or from the line's JSON when it did not deserialize.</summary>
    private static string MessageIdOf(JournalRecord? record, ReadOnlySpan<byte> line)
    {
        string? id = record?.Message?.Id ?? record?.MessageId;
        if (id is null && record is null)
        {
            try
            {
                var reader = new Utf8JsonReader(line);
                using var document = JsonDocument.ParseValue(ref reader);
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object)
                {
                    if (root.TryGetProperty("m", out var message) && message.ValueKind == JsonValueKind.Object
                        && message.TryGetProperty("id", out var messageId) && messageId.ValueKind == JsonValueKind.String)
                    {
                        id = messageId.GetString();
                    }
                    else if (root.TryGetProperty("mid", out var mid) && mid.ValueKind == JsonValueKind.String)
                    {
                        id = mid.GetString();
                    }
                }
            }
            catch (JsonException)
            {
            }
        }

        return id is not null && Identifier.IsValid(id, IdKind.Message) ? id : "(unknown)";
    }

    /// <summary>
    /// Applies one journal record; returns why it cannot be applied, or null. Parts of a whole message that cannot be read
    /// are dropped and added to <paramref name="skippedParts"/> (when given).
    /// </summary>
    private static string? Apply(Dictionary<string, SessionMessage> byId, JournalRecord record, string sessionId, List<(string Part, string Problem)>? skippedParts)
    {
        switch (record.Kind)
        {
            case JournalRecord.WholeMessage when record.Message is { } message:
                if (StoredRecords.CheckMessage(message, sessionId, skippedParts) is { } problem)
                {
                    return problem;
                }

                byId[message.Id] = message;
                return null;

            case JournalRecord.OnePart when record.Message is null && record.MessageId is { } partOf && record.Part is { } changedPart:
                // A part of a message whose own fields did not change since the last record of it.
                if (StoredRecords.CheckPart(changedPart) is { } badPart)
                {
                    return badPart;
                }

                if (!byId.TryGetValue(partOf, out var owner))
                {
                    return "the part belongs to a message that is not there";
                }

                int at = owner.Parts.FindIndex(p => p.Id == changedPart.Id);
                if (at >= 0)
                {
                    owner.Parts[at] = changedPart;
                }
                else
                {
                    owner.Parts.Add(changedPart);
                }

                return null;

            case JournalRecord.OnePart when record.Message is { } header && record.Part is { } part:
                if ((StoredRecords.CheckMessage(header, sessionId, skippedParts: null) ?? StoredRecords.CheckPart(part)) is { } bad)
                {
                    return bad;
                }

                header.Parts = byId.TryGetValue(header.Id, out var existing) ? existing.Parts : [];
                int index = header.Parts.FindIndex(p => p.Id == part.Id);
                if (index >= 0)
                {
                    header.Parts[index] = part;
                }
                else
                {
                    header.Parts.Add(part);
                }

                byId[header.Id] = header;
                return null;

            case JournalRecord.Delta when record.Message is { } changed && record.PartIds is { } partIds:
                // A message's own fields, its parts that changed, and the ids of all its parts in order.
                if (StoredRecords.CheckMessage(changed, sessionId, skippedParts: null) is { } badMessage)
                {
                    return badMessage;
                }

                if (!byId.TryGetValue(changed.Id, out var before))
                {
                    return "the record changes a message that is not there";
                }

                var known = new Dictionary<string, MessagePart>(StringComparer.Ordinal);
                foreach (var p in before.Parts)
                {
                    known[p.Id] = p;
                }

                foreach (var p in changed.Parts)
                {
                    known[p.Id] = p;
                }

                var parts = new List<MessagePart>(partIds.Count);
                foreach (string partId in partIds)
                {
                    if (partId is null || !known.TryGetValue(partId, out var p))
                    {
                        return "the record names a part that is not there";
                    }

                    parts.Add(p);
                }

                changed.Parts = parts;
                byId[changed.Id] = changed;
                return null;

            case JournalRecord.AppendedText when record.MessageId is { } messageId && record.PartId is { } partId && record.Text is { } text:
                if (!byId.TryGetValue(messageId, out var target))
                {
                    return "the text is appended to a message that is not there";
                }

                if (record.Message is { } changedHeader)
                {
                    if (changedHeader.Id != messageId || StoredRecords.CheckMessage(changedHeader, sessionId, skippedParts: null) is not null)
                    {
                        return "the record's message fields are not a message";
                    }

                    changedHeader.Parts = target.Parts;
                    byId[messageId] = changedHeader;
                }

                switch (target.Parts.Find(p => p.Id == partId))
                {
                    case TextPart textPart:
                        textPart.Text += text;
                        return null;
                    case ReasoningPart reasoningPart:
                        reasoningPart.Text += text;
                        return null;
                    default:
                        return "the text is appended to a part that is not there";
                }

            default:
                return "the record is incomplete or of an unknown kind";
        }
    }

    /// <summary>Reads a session file: null when there is none, or (logged) when it cannot be read.</summary>
    /// <remarks>Synchronously, as <see cref="ReadJournal"/> reads: a session file is at most a few kilobytes (<see cref="FileSessionFile.RewriteAt"/>).</remarks>
    private ValueTask<SessionInfo?> ReadSessionFileAsync(string path, string sessionId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        byte[] content;
        try
        {
            content = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return default;
        }
        catch (DirectoryNotFoundException)
        {
            return default;
        }

        if (FileSessionFile.Read(content, sessionId, out string? problem, out _, out string? skipped) is not { } session)
        {
            LogCorruptFile(sessionId, path, problem!);
            return default;
        }

        if (skipped is not null)
        {
            // A newer whole-looking record that does not read: the older one is served, and a change would replace it.
            LogCorruptFile(sessionId, path, "its newest complete record does not read, an older one is served: " + skipped);
        }

        return ValueTask.FromResult<SessionInfo?>(session);
    }

    private string SessionPath(string sessionId) => Path.Combine(_sessionsDirectory, sessionId + ".json");

    /// <summary>The folder of the store's lock files: its session-write locks and the default busy lock's (<see cref="FileSessionLockProvider"/>).</summary>
    internal string LockDirectory => Path.Combine(DataDirectory, "locks");

    /// <summary>
    /// The lock of a session's files — its session file and its message journal: <c>locks/&lt;id&gt;.session.lock</c>, beside
    /// the busy locks, so the sessions folder holds only sessions. One lock file per session, created with the session, so a
    /// session's first turn creates no lock file for its journal.
    /// </summary>
    private string SessionLockPath(string sessionId) => Path.Combine(LockDirectory, sessionId + ".session");

    private string JournalPath(string sessionId) => Path.Combine(_messagesDirectory, sessionId + ".jsonl");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped unreadable session {SessionId} (file {Path}): {Reason}")]
    private partial void LogCorruptFile(string sessionId, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not set the sessions folder's time after appending to {Path}: a listing index built while the append ran may list the session as before it until the folder changes again")]
    private partial void LogListingNotMarked(string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped unreadable record of session {SessionId}, message {MessageId} (line {Line} of {Path}): {Reason}")]
    private partial void LogCorruptLine(string sessionId, string messageId, string path, int line, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped unreadable part {PartId} of message {MessageId} of session {SessionId} (line {Line} of {Path}): {Reason}")]
    private partial void LogUnreadablePart(string sessionId, string messageId, string partId, string path, int line, string reason);

    private sealed record Replay(List<SessionMessage> Messages, List<byte[]> CorruptLines, bool NeedsCompaction);
}

/// <summary>One line of a <see cref="FileSessionStore"/> message journal.</summary>
internal sealed class JournalRecord
{
    public const string WholeMessage = "m";
    public const string OnePart = "p";
    public const string AppendedText = "t";
    public const string Delta = "d";

    /// <summary>
    /// <c>m</c>: a whole message; <c>p</c>: one part, with the message's own fields (<c>m</c>) when they changed since the
    /// last record, else the message's id (<c>mid</c>); <c>t</c>: text appended to a part (with the message's own fields
    /// when they changed since the last record); <c>d</c>: a message saved whole after its parts were written one by one —
    /// its own fields with only the parts that changed since their last record (<c>m</c>), and the ids of all its parts in
    /// order (<c>ids</c>).
    /// </summary>
    [JsonPropertyName("k")] public string Kind { get; set; } = "";
    [JsonPropertyName("m")] public SessionMessage? Message { get; set; }
    [JsonPropertyName("p")] public MessagePart? Part { get; set; }
    [JsonPropertyName("mid")] public string? MessageId { get; set; }
    [JsonPropertyName("pid")] public string? PartId { get; set; }
    [JsonPropertyName("t")] public string? Text { get; set; }
    [JsonPropertyName("ids")] public List<string>? PartIds { get; set; }
}

/// <summary>The order sessions are listed in.</summary>
internal static class SessionOrder
{
    /// <summary>Newest first by creation time, then by id descending.</summary>
    public static readonly Comparison<SessionInfo> NewestFirst = static (a, b) =>
    {
        int byTime = b.CreatedAt.CompareTo(a.CreatedAt);
        return byTime != 0 ? byTime : string.CompareOrdinal(b.Id, a.Id);
    };
}
