using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;

namespace AgentCore.Storage;

/// <summary>
/// The file store's listing: every session file read (a scan), or the listing index <c>sessions.index</c> beside the
/// <c>sessions</c> folder when it is current: one file holding every session file's bytes as the last scan read them,
/// so a listing reads one file instead of thousands.
/// </summary>
/// <remarks>
/// <para><b>When the index is current.</b> Every write of a session file by the store changes the <c>sessions</c>
/// folder's modification time: creating or rewriting one renames a temporary file over it, a delete removes it, and a
/// change appended to it sets the folder's time before and after the append (<see cref="MarkChanged"/>; a process
/// killed between the append and the second setting leaves stale only an index whose scan read the file in between). The index records the folder's modification time its scan started from, and is served only while
/// the folder still has it; anything else (no index, another time, an index that cannot be read) is a scan, which writes
/// a new index. The index keeps each session file's current record only (a session file can hold older ones before it). The time a scan records is trusted only when it is older than the index's own temporary file, created
/// before the scan began: a change in the same clock tick as the scan's start can then not go unnoticed (the file
/// system's clock is coarse). A session file changed in place (not through the store) is seen once the folder changes
/// again, or when the index is deleted.</para>
/// <para><b>Crash safety.</b> The index is a cache: written to a temporary file and renamed over the old one, never
/// needed for anything but speed, rebuilt whenever it is stale or unreadable. Writing it is best effort: on a read-only
/// folder the listing scans every time and writes nothing.</para>
/// </remarks>
internal sealed class FileSessionListing(string dataDirectory, string sessionsDirectory)
{
    /// <summary>The index's file name, in the data folder.</summary>
    public const string IndexFileName = "sessions.index";

    private static ReadOnlySpan<byte> Magic => "ACSIDX01"u8;

    private readonly string _indexPath = Path.Combine(dataDirectory, IndexFileName);

    /// <summary>The full path of the index.</summary>
    public string IndexPath => _indexPath;

    /// <summary>
    /// The sessions, newest first, and the session files that could not be read (for the caller to log): from the index
    /// when it is current, else from a scan (which then writes the index).
    /// </summary>
    public Task<Listing> ReadAsync(CancellationToken cancellationToken) =>
        // Off the caller's thread: the reads are synchronous (one large file, or thousands of small ones in parallel).
        Task.Run(() => TryReadIndex(cancellationToken) ?? ScanAndIndex(cancellationToken), cancellationToken);

    private Listing? TryReadIndex(CancellationToken cancellationToken)
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(_indexPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // The folder's time is read after the index: a change in between makes them differ, and the listing scans.
        if (!TryParse(content, out long stamp, out var entries) || FolderStamp() != stamp)
        {
            return null;
        }

        var sessions = new SessionInfo?[entries.Count];
        var problems = new string?[entries.Count];
        void Parse(int i)
        {
            var (id, bytes, corrupt) = entries[i];
            if (corrupt is not null)
            {
                problems[i] = corrupt;
            }
            else
            {
                sessions[i] = FileSessionFile.Read(content.AsSpan(bytes), id, out problems[i], out _);
            }
        }

        if (entries.Count >= 256)
        {
            // In a few ranges: a session parses in a few microseconds, too little for a task each.
            int ranges = Math.Min(Environment.ProcessorCount, 8) * 2;
            Parallel.For(0, ranges, new ParallelOptions { CancellationToken = cancellationToken }, r =>
            {
                for (int i = (int)((long)entries.Count * r / ranges); i < (int)((long)entries.Count * (r + 1) / ranges); i++)
                {
                    Parse(i);
                }
            });
        }
        else
        {
            for (int i = 0; i < entries.Count; i++)
            {
                Parse(i);
            }
        }

        var listing = new Listing(new List<SessionInfo>(entries.Count), []);
        for (int i = 0; i < entries.Count; i++)
        {
            if (sessions[i] is { } session)
            {
                listing.Sessions.Add(session);
            }
            else
            {
                listing.Unreadable.Add((entries[i].Id, problems[i]!));
            }
        }

        // Stored newest first; sorted again only should the order ever differ (a session's JSON is its own order key).
        if (!IsSorted(listing.Sessions))
        {
            listing.Sessions.Sort(SessionOrder.NewestFirst);
        }

        return listing;
    }

    private Listing ScanAndIndex(CancellationToken cancellationToken)
    {
        // The temporary index is created first: its time, from the file system's clock, is the time the scan starts
        // from (see the remarks).
        string temp = _indexPath + "." + Guid.NewGuid().ToString("N") + ".tmp";
        Microsoft.Win32.SafeHandles.SafeFileHandle? handle = null;
        long startedAt = long.MinValue;
        try
        {
            handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
            startedAt = File.GetLastWriteTimeUtc(handle).Ticks;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            handle?.Dispose();
            handle = null; // A read-only folder: list without an index.
        }

        try
        {
            long stamp = FolderStamp();
            var found = new ConcurrentBag<(string Id, byte[]? Bytes, SessionInfo? Session, string? Problem)>();
            var paths = Directory.EnumerateFiles(sessionsDirectory, "*.json")
                .Where(static path => Identifier.IsValid(Path.GetFileNameWithoutExtension(path), IdKind.Session));
            var parallel = new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount) };
            Parallel.ForEach(paths, parallel, path =>
            {
                string id = Path.GetFileNameWithoutExtension(path);
                byte[] bytes;
                try
                {
                    bytes = File.ReadAllBytes(path);
                }
                catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
                {
                    return; // Deleted since the folder was enumerated.
                }

                // The index keeps the record served (a session file may hold older records before it), or the whole
                // file when none reads.
                var session = FileSessionFile.Read(bytes, id, out string? problem, out var record);
                found.Add((id, session is null ? bytes : bytes[record], session, problem));
            });

            var all = found.ToList();
            var good = all.Where(static f => f.Session is not null).ToList();
            good.Sort(static (a, b) => SessionOrder.NewestFirst(a.Session!, b.Session!));
            var listing = new Listing(good.ConvertAll(static f => f.Session!), []);
            var unreadable = all.Where(static f => f.Session is null).OrderBy(static f => f.Id, StringComparer.Ordinal).ToList();
            foreach (var (id, _, _, problem) in unreadable)
            {
                listing.Unreadable.Add((id, problem!));
            }

            if (handle is not null && stamp < startedAt)
            {
                TryWriteIndex(handle, temp, stamp, good, unreadable);
            }

            return listing;
        }
        finally
        {
            if (handle is not null)
            {
                handle.Dispose();
                TryDelete(temp);
            }
        }
    }

    private void TryWriteIndex(
        Microsoft.Win32.SafeHandles.SafeFileHandle handle,
        string temp,
        long stamp,
        List<(string Id, byte[]? Bytes, SessionInfo? Session, string? Problem)> good,
        List<(string Id, byte[]? Bytes, SessionInfo? Session, string? Problem)> unreadable)
    {
        long length = Magic.Length + sizeof(long) + sizeof(int);
        foreach (var entry in good.Concat(unreadable))
        {
            length += 1 + 1 + entry.Id.Length + sizeof(int) + (entry.Bytes?.Length ?? 0);
        }

        if (length > int.MaxValue)
        {
            return; // Over 2 GB of sessions: the listing scans.
        }

        byte[] content = new byte[length];
        var span = content.AsSpan();
        Magic.CopyTo(span);
        int at = Magic.Length;
        BinaryPrimitives.WriteInt64LittleEndian(span[at..], stamp);
        at += sizeof(long);
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], good.Count + unreadable.Count);
        at += sizeof(int);
        foreach (var (entries, kind) in new[] { (good, (byte)0), (unreadable, (byte)1) })
        {
            foreach (var entry in entries)
            {
                // A session file that cannot be read is kept by its bytes too: each listing names it again, as a scan would.
                content[at++] = kind;
                content[at++] = (byte)entry.Id.Length;
                at += Encoding.ASCII.GetBytes(entry.Id, span[at..]);
                BinaryPrimitives.WriteInt32LittleEndian(span[at..], entry.Bytes!.Length);
                at += sizeof(int);
                entry.Bytes.CopyTo(span[at..]);
                at += entry.Bytes.Length;
            }
        }

        try
        {
            RandomAccess.Write(handle, content, 0);
            handle.Dispose();
            File.Move(temp, _indexPath, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the next listing scans again.
        }
    }

    /// <summary>Parses the index: its folder time and entries (id, the session file's bytes, or why it is unreadable).</summary>
    private static bool TryParse(byte[] content, out long stamp, out List<(string Id, Range Bytes, string? Corrupt)> entries)
    {
        stamp = 0;
        entries = [];
        var span = content.AsSpan();
        if (span.Length < Magic.Length + sizeof(long) + sizeof(int) || !span.StartsWith(Magic))
        {
            return false;
        }

        int at = Magic.Length;
        stamp = BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
        at += sizeof(long);
        int count = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        at += sizeof(int);
        if (count < 0 || count > (span.Length - at) / 6)
        {
            return false;
        }

        entries.Capacity = count;
        for (int i = 0; i < count; i++)
        {
            if (span.Length - at < 2)
            {
                return false;
            }

            byte kind = span[at++];
            int idLength = span[at++];
            if (kind > 1 || span.Length - at < idLength + sizeof(int))
            {
                return false;
            }

            string id = Encoding.ASCII.GetString(span.Slice(at, idLength));
            at += idLength;
            int length = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
            at += sizeof(int);
            if (length < 0 || span.Length - at < length || !Identifier.IsValid(id, IdKind.Session))
            {
                return false;
            }

            var bytes = new Range(at, at + length);
            entries.Add((id, bytes, kind == 1 ? UnreadableProblem(content.AsSpan(bytes), id) : null));
            at += length;
        }

        return at == span.Length;
    }

    /// <summary>Why a session file the index keeps as unreadable cannot be read (as the scan found).</summary>
    private static string UnreadableProblem(ReadOnlySpan<byte> bytes, string id)
    {
        FileSessionFile.Read(bytes, id, out string? problem, out _);
        return problem ?? "the record holds no session";
    }

    private static bool IsSorted(List<SessionInfo> sessions)
    {
        for (int i = 1; i < sessions.Count; i++)
        {
            if (SessionOrder.NewestFirst(sessions[i - 1], sessions[i]) > 0)
            {
                return false;
            }
        }

        return true;
    }

    private long FolderStamp() => Directory.GetLastWriteTimeUtc(sessionsDirectory).Ticks;

    /// <summary>
    /// Tells listings that a session file changed in place (a record appended, which changes no folder entry): sets the
    /// <c>sessions</c> folder's modification time to now, or just past the time it has, so it differs from the time any
    /// index was built at. Call before the change is written (an index built earlier is then stale whatever follows) and
    /// after it (so is one whose scan read the file in between). False when the time cannot be set (before the change, the
    /// caller then writes it in a way that changes the folder, a rename; after it, the change stands).
    /// </summary>
    public bool MarkChanged()
    {
        try
        {
            // The file system's clock, not the app's: the time is compared with the times the file system stamps.
            var now = TimeProvider.System.GetUtcNow().UtcDateTime;
            var current = Directory.GetLastWriteTimeUtc(sessionsDirectory);
            Directory.SetLastWriteTimeUtc(sessionsDirectory, now > current ? now : current.AddTicks(1));
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort.
        }
    }

    /// <summary>The sessions of a listing, newest first, and the session files that could not be read, by id, with why.</summary>
    internal sealed record Listing(List<SessionInfo> Sessions, List<(string Id, string Problem)> Unreadable);
}
