using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentCore;

/// <summary>
/// The default <see cref="ISessionHistory"/>: <c>&lt;DataDirectory&gt;/sessions.jsonl</c>, one JSON object a line
/// in letta-code's shape, so letta-code reads our file and we read its.
/// </summary>
/// <remarks>
/// Each entry is one line written in one append under the file's lock, so processes appending at once never
/// interleave; entries recorded while an append is under way are written together in the next one (a call still
/// completes only once its line is written). <see cref="ReadAsync"/> streams the file in 256 KiB buffers (it never loads it whole) and skips a
/// corrupt line with a warning. <see cref="ISessionHistory.DeleteSessionsAsync"/> keeps every entry (the default):
/// the file is an append-only ledger that other processes, letta-code among them, append to, so a purge never rewrites it.
/// </remarks>
public sealed partial class JsonlSessionHistory : ISessionHistory
{
    /// <summary>The file name, as letta-code names it.</summary>
    public const string FileName = "sessions.jsonl";

    private const int BufferSize = 256 * 1024;
    private readonly ILogger _logger;
    private readonly Lock _queueGate = new();
    private List<PendingLine> _queue = [];
    private bool _writing;

    /// <summary>Creates a history in <c>&lt;dataDirectory&gt;/sessions.jsonl</c>.</summary>
    /// <param name="dataDirectory">The folder of <c>sessions.jsonl</c> (created when first written).</param>
    /// <param name="logger">The logger; null for none.</param>
    /// <exception cref="ArgumentException"><paramref name="dataDirectory"/> is null, empty or white space.</exception>
    public JsonlSessionHistory(string dataDirectory, ILogger<JsonlSessionHistory>? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        FilePath = Path.Combine(Path.GetFullPath(dataDirectory), FileName);
        _logger = logger ?? NullLogger<JsonlSessionHistory>.Instance;
    }

    /// <summary>Creates a history in the configured <see cref="AgentCoreOptions.DataDirectory"/>.</summary>
    /// <param name="options">AgentCore's options.</param>
    /// <param name="logger">The logger; null for none.</param>
    public JsonlSessionHistory(IOptions<AgentCoreOptions> options, ILogger<JsonlSessionHistory>? logger = null)
        : this(options.Value.DataDirectory, logger)
    {
    }

    /// <summary>The full path of the history file.</summary>
    public string FilePath { get; }

    /// <inheritdoc />
    public ValueTask RecordStartAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default) =>
        AppendAsync(entry, cancellationToken);

    /// <inheritdoc />
    public ValueTask RecordEndAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default) =>
        AppendAsync(entry, cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<SessionHistoryEntry> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
        }
        catch (FileNotFoundException)
        {
            yield break;
        }
        catch (DirectoryNotFoundException)
        {
            yield break;
        }

        // The file is read in 256 KiB chunks of whole lines. Each chunk is parsed on the thread pool while the next is
        // read and earlier ones are handed on, at most one more than the cores at once (so memory stays bounded), in file order.
        int inFlight = Math.Clamp(Environment.ProcessorCount + 1, 2, 8); // every core parsing while the caller consumes
        var pending = new Queue<Task<Chunk>>();
        var readers = new Stack<HistoryLineReader>();
        byte[]? buffer = null;
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
                int filled = 0;
                int lineNumber = 0;
                while (true)
                {
                    if (filled == buffer.Length)
                    {
                        // A line longer than the buffer: grow it.
                        byte[] larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, filled).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    int requested = buffer.Length - filled;
                    int read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                    bool atEnd = read == 0;
                    bool shortRead = read < requested;
                    filled += read;

                    // The chunk ends after its last newline (at the end of the file, with the file).
                    int end = atEnd ? filled : buffer.AsSpan(0, filled).LastIndexOf((byte)'\n') + 1;
                    if (end > 0)
                    {
                        // The rest (a line not yet complete) starts the next buffer.
                        byte[] next = ArrayPool<byte>.Shared.Rent(BufferSize);
                        if (filled - end > next.Length)
                        {
                            ArrayPool<byte>.Shared.Return(next);
                            next = ArrayPool<byte>.Shared.Rent(filled - end);
                        }

                        buffer.AsSpan(end, filled - end).CopyTo(next);
                        var chunk = new Chunk(buffer, end, lineNumber);
                        lineNumber += chunk.CountLines();
                        buffer = null;
                        HistoryLineReader lineReader = readers.Count > 0 ? readers.Pop() : new HistoryLineReader();
                        pending.Enqueue(Task.Run(() => chunk.Parse(lineReader), CancellationToken.None));
                        filled -= end;
                        buffer = next;
                    }

                    // Hand on what is parsed when enough is in flight, when the file ends, and when a read came back
                    // short (a writer may still be writing: what was read is handed on before waiting for more).
                    while (pending.Count > 0 && (pending.Count >= inFlight || atEnd || shortRead))
                    {
                        var done = await pending.Peek().ConfigureAwait(false);
                        _ = pending.Dequeue();
                        readers.Push(done.Reader!);
                        foreach (var (line, error) in done.Errors)
                        {
                            LogCorruptLine(FilePath, line, error);
                        }

                        foreach (var entry in done.Entries)
                        {
                            yield return entry;
                        }

                        done.Release();
                    }

                    if (atEnd)
                    {
                        yield break;
                    }
                }
            }
            finally
            {
                // Chunks still being parsed (the caller stopped early) keep their buffers until they finish.
                if (pending.Count > 0)
                {
                    // A failure there is not the caller's any more (it stopped listening, or an earlier chunk's failed).
                    await ((Task)Task.WhenAll(pending)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    foreach (var task in pending.Where(static task => task.IsCompletedSuccessfully))
                    {
                        task.Result.Release();
                    }
                }

                if (buffer is not null)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
    }

    /// <summary>
    /// Whole lines of the file, parsed off the reading thread: the entries in order, and the corrupt lines with why
    /// (by line number).
    /// </summary>
    private sealed class Chunk(byte[] buffer, int length, int firstLine)
    {
        private byte[]? _buffer = buffer;

        public List<SessionHistoryEntry> Entries { get; } = [];

        public List<(int Line, string Error)> Errors { get; } = [];

        public HistoryLineReader? Reader { get; private set; }

        /// <summary>The lines the chunk holds (the last one may lack its newline at the end of the file).</summary>
        public int CountLines()
        {
            var data = _buffer.AsSpan(0, length);
            int count = data.Count((byte)'\n');
            return data.Length > 0 && data[^1] != (byte)'\n' ? count + 1 : count;
        }

        public Chunk Parse(HistoryLineReader reader)
        {
            Reader = reader;
            var data = _buffer.AsSpan(0, length);
            int lineNumber = firstLine;
            while (!data.IsEmpty)
            {
                int newline = data.IndexOf((byte)'\n');
                var line = newline < 0 ? data : data[..newline];
                data = newline < 0 ? default : data[(newline + 1)..];
                lineNumber++;
                if (line.Trim(" \t\r"u8).IsEmpty)
                {
                    continue;
                }

                if (reader.TryRead(line, out var entry))
                {
                    Entries.Add(Normalize(entry!));
                    continue;
                }

                // What the fast reader does not decide, the serializer does, as it always did.
                try
                {
                    if (JsonSerializer.Deserialize(line, AgentCoreJsonContext.Default.SessionHistoryEntry) is { } parsed)
                    {
                        Entries.Add(Normalize(parsed));
                    }
                    else
                    {
                        Errors.Add((lineNumber, "the line holds no entry"));
                    }
                }
                catch (JsonException ex)
                {
                    Errors.Add((lineNumber, JsonErrors.Describe(ex)));
                }
            }

            return this;
        }

        /// <summary>Returns the chunk's buffer to the pool.</summary>
        public void Release()
        {
            if (_buffer is { } held)
            {
                _buffer = null;
                ArrayPool<byte>.Shared.Return(held);
            }
        }
    }

    // Lines written by hand or by other programs may carry nulls; the usual line has none and is passed on as read.
    private static SessionHistoryEntry Normalize(SessionHistoryEntry entry) =>
        entry.AgentId is null || entry.SessionId is null || entry.Project is null || entry.Model is null || entry.Provider is null ||
        entry.Usage is null || entry.Duration is null || entry.Cost is null
            ? WithDefaults(entry)
            : entry;

    private static SessionHistoryEntry WithDefaults(SessionHistoryEntry entry) => entry with
    {
        AgentId = entry.AgentId ?? "",
        SessionId = entry.SessionId ?? "",
        Project = entry.Project ?? "",
        Model = entry.Model ?? "",
        Provider = entry.Provider ?? "",
        Usage = entry.Usage ?? new HistoryUsage(),
        Duration = entry.Duration ?? new HistoryDuration(),
        Cost = entry.Cost ?? new HistoryCost(),
    };

    /// <summary>
    /// Appends the entry's line and completes once it is written. Entries recorded while another append is under way are
    /// written together, in the order recorded, in one append (group commit): concurrent turns share the file's lock and
    /// its writes instead of queueing on them one by one.
    /// </summary>
    private async ValueTask AppendAsync(SessionHistoryEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        cancellationToken.ThrowIfCancellationRequested();
        var line = JsonLine.Serialize(entry, AgentCoreJsonContext.Default.SessionHistoryEntry);
        PendingLine pending;
        bool write;
        lock (_queueGate)
        {
            pending = new PendingLine(line);
            _queue.Add(pending);
            write = !_writing;
            _writing = true;
        }

        if (write)
        {
            await WriteQueuedAsync().ConfigureAwait(false);
        }

        await pending.Written.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// Writes the queued lines in one append; the caller is the one writer. Lines queued meanwhile are written by a writer
    /// of their own on the thread pool, so no caller waits for more than the one batch its line is in.
    /// </summary>
    private async Task WriteQueuedAsync()
    {
        List<PendingLine> batch;
        lock (_queueGate)
        {
            batch = _queue;
            _queue = [];
        }

        try
        {
            await FileAppender.AppendAsync(FilePath, Join(batch), "usage history", CancellationToken.None).ConfigureAwait(false);
            foreach (var written in batch)
            {
                written.Written.TrySetResult();
            }
        }
        catch (Exception ex)
        {
            foreach (var failed in batch)
            {
                failed.Written.TrySetException(ex);
            }
        }

        lock (_queueGate)
        {
            if (_queue.Count == 0)
            {
                _writing = false;
                return;
            }
        }

        _ = Task.Run(WriteQueuedAsync);
    }

    private static ReadOnlyMemory<byte> Join(List<PendingLine> batch)
    {
        if (batch.Count == 1)
        {
            return batch[0].Line;
        }

        int length = 0;
        foreach (var pending in batch)
        {
            length += pending.Line.Length;
        }

        byte[] all = new byte[length];
        int at = 0;
        foreach (var pending in batch)
        {
            pending.Line.Span.CopyTo(all.AsSpan(at));
            at += pending.Line.Length;
        }

        return all;
    }

    /// <summary>A line waiting to be appended, and the signal that it was (or failed).</summary>
    private sealed class PendingLine(ReadOnlyMemory<byte> line)
    {
        public ReadOnlyMemory<byte> Line { get; } = line;

        // Continuations run asynchronously: the writer completes a whole batch without running its callers' turns inline.
        public TaskCompletionSource Written { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt line {Line} of usage history {Path}: {Reason}")]
    private partial void LogCorruptLine(string path, int line, string reason);
}
