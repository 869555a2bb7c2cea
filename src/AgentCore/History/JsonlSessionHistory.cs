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
/// interleave. <see cref="ReadAsync"/> streams the file in 256 KiB buffers (it never loads it whole) and skips a
/// corrupt line with a warning. <see cref="ISessionHistory.DeleteSessionsAsync"/> keeps every entry (the default):
/// the file is an append-only ledger that other processes, letta-code among them, append to, so a purge never rewrites it.
/// </remarks>
public sealed partial class JsonlSessionHistory : ISessionHistory
{
    /// <summary>The file name, as letta-code names it.</summary>
    public const string FileName = "sessions.jsonl";

    private const int BufferSize = 256 * 1024;
    private const int ParallelParseThreshold = 64;
    private readonly ILogger _logger;

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

        await using (stream.ConfigureAwait(false))
        {
            byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                int filled = 0;
                int lineNumber = 0;
                var batch = new List<SessionHistoryEntry>();
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

                    int read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                    bool atEnd = read == 0;
                    filled += read;

                    int consumed = ParseLines(buffer, filled, atEnd, ref lineNumber, batch);
                    foreach (var entry in batch)
                    {
                        yield return entry;
                    }

                    batch.Clear();
                    if (atEnd)
                    {
                        yield break;
                    }

                    buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                    filled -= consumed;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private int ParseLines(byte[] buffer, int length, bool atEnd, ref int lineNumber, List<SessionHistoryEntry> into)
    {
        // Find the complete lines of the buffer first; parse them in parallel when there are enough to pay for it
        // (the buffer bounds the memory either way), then hand them on in file order.
        var lines = new List<(int Start, int Length, int Number)>();
        int consumed = 0;
        var data = buffer.AsSpan(0, length);
        while (consumed < data.Length)
        {
            var rest = data[consumed..];
            int newline = rest.IndexOf((byte)'\n');
            if (newline < 0 && !atEnd)
            {
                break;
            }

            int lineLength = newline < 0 ? rest.Length : newline;
            lineNumber++;
            if (!rest[..lineLength].Trim(" \t\r"u8).IsEmpty)
            {
                lines.Add((consumed, lineLength, lineNumber));
            }

            consumed += newline < 0 ? rest.Length : newline + 1;
        }

        var entries = new SessionHistoryEntry?[lines.Count];
        var errors = new string?[lines.Count];
        void Parse(int i)
        {
            try
            {
                entries[i] = JsonSerializer.Deserialize(buffer.AsSpan(lines[i].Start, lines[i].Length), AgentCoreJsonContext.Default.SessionHistoryEntry);
                errors[i] = entries[i] is null ? "the line holds no entry" : null;
            }
            catch (JsonException ex)
            {
                errors[i] = JsonErrors.Describe(ex);
            }
        }

        if (lines.Count >= ParallelParseThreshold)
        {
            Parallel.For(0, lines.Count, Parse);
        }
        else
        {
            for (int i = 0; i < lines.Count; i++)
            {
                Parse(i);
            }
        }

        for (int i = 0; i < lines.Count; i++)
        {
            if (errors[i] is { } error)
            {
                LogCorruptLine(FilePath, lines[i].Number, error);
            }
            else
            {
                into.Add(Normalize(entries[i]!));
            }
        }

        return consumed;
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

    private async ValueTask AppendAsync(SessionHistoryEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await FileAppender.AppendAsync(FilePath, JsonLine.Serialize(entry, AgentCoreJsonContext.Default.SessionHistoryEntry), "usage history", cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt line {Line} of usage history {Path}: {Reason}")]
    private partial void LogCorruptLine(string path, int line, string reason);
}
