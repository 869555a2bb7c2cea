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
/// interleave. <see cref="ReadAsync"/> streams the file in small buffers (it never loads it whole) and skips a
/// corrupt line with a warning.
/// </remarks>
public sealed partial class JsonlSessionHistory : ISessionHistory
{
    /// <summary>The file name, as letta-code names it.</summary>
    public const string FileName = "sessions.jsonl";

    private const int BufferSize = 64 * 1024;
    private readonly ILogger _logger;

    /// <summary>Creates a history in <c>&lt;dataDirectory&gt;/sessions.jsonl</c>.</summary>
    public JsonlSessionHistory(string dataDirectory, ILogger<JsonlSessionHistory>? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        FilePath = Path.Combine(Path.GetFullPath(dataDirectory), FileName);
        _logger = logger ?? NullLogger<JsonlSessionHistory>.Instance;
    }

    /// <summary>Creates a history in the configured <see cref="AgentCoreOptions.DataDirectory"/>.</summary>
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

                    int consumed = ParseLines(buffer.AsSpan(0, filled), atEnd, ref lineNumber, batch);
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

    private int ParseLines(ReadOnlySpan<byte> data, bool atEnd, ref int lineNumber, List<SessionHistoryEntry> into)
    {
        int consumed = 0;
        while (consumed < data.Length)
        {
            var rest = data[consumed..];
            int newline = rest.IndexOf((byte)'\n');
            if (newline < 0 && !atEnd)
            {
                break;
            }

            var line = newline < 0 ? rest : rest[..newline];
            consumed += newline < 0 ? rest.Length : newline + 1;
            lineNumber++;
            if (line.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            try
            {
                var entry = JsonSerializer.Deserialize(line, AgentCoreJsonContext.Default.SessionHistoryEntry);
                if (entry is null)
                {
                    LogCorruptLine(FilePath, lineNumber, "the line holds no entry");
                }
                else
                {
                    into.Add(Normalize(entry));
                }
            }
            catch (JsonException ex)
            {
                LogCorruptLine(FilePath, lineNumber, JsonErrors.Describe(ex));
            }
        }

        return consumed;
    }

    private static SessionHistoryEntry Normalize(SessionHistoryEntry entry) => entry with
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
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            JsonSerializer.Serialize(writer, entry, AgentCoreJsonContext.Default.SessionHistoryEntry);
        }

        buffer.Write("\n"u8);
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        await FileAppender.AppendAsync(FilePath, buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt line {Line} of usage history {Path}: {Reason}")]
    private partial void LogCorruptLine(string path, int line, string reason);
}
