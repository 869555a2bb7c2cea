namespace AgentCore.Storage;

/// <summary>
/// The file store's session file, <c>sessions/&lt;id&gt;.json</c>: one or more whole sessions, one JSON record a line; the
/// last complete line that reads as the session is the session.
/// </summary>
/// <remarks>
/// <para>A session file is created whole (a temporary file renamed into place) with one record; a change of the session
/// appends the whole session again as a new line (one <c>write</c>), so a turn's update creates no file. Once a change
/// would make the file longer than <see cref="RewriteAt"/> bytes it is rewritten with the one current record instead
/// (temporary file and rename), so the file stays small.</para>
/// <para>What a crash can leave: a torn last line (no newline yet), which readers skip (the record before it is the
/// session, as before the change), and the next append starts on a new line; or, during a rewrite, an unused temporary
/// file beside the session file, which nothing reads (the session file is the one before the rewrite, whole). A torn
/// tail is never read, not even when no line reads and the content up to the last newline is read as one record
/// (indented by hand).</para>
/// <para>A file written before this format (one JSON object, no newline) reads as that one record.</para>
/// </remarks>
internal static class FileSessionFile
{
    /// <summary>The length past which a change rewrites the file instead of appending to it.</summary>
    public const int RewriteAt = 8 * 1024;

    /// <summary>
    /// Reads the session from a session file's bytes: the last complete line that reads as the session
    /// <paramref name="expectedId"/> (or, for a file with no line break, the whole file).
    /// </summary>
    /// <param name="content">The file's bytes.</param>
    /// <param name="expectedId">The id the file is stored under.</param>
    /// <param name="problem">Why no record can be served; null when one can (a newer line that does not read, such as the
    /// rest of a record a crash tore that a later append ended, is skipped).</param>
    /// <param name="record">Where the record served lies in <paramref name="content"/>.</param>
    /// <returns>The session, or null when no record of the file can be served.</returns>
    public static SessionInfo? Read(ReadOnlySpan<byte> content, string expectedId, out string? problem, out Range record) =>
        Read(content, expectedId, out problem, out record, out _);

    /// <summary>
    /// Reads the session as the other overload does, and says why a newer complete line that looks like a whole record
    /// (it ends with <c>}</c>) was skipped for an older one: a record damaged after it was written whole (bit rot, an edit
    /// by hand), which a change of the session would otherwise quietly replace by the older record and its changes.
    /// </summary>
    /// <param name="content">The file's bytes.</param>
    /// <param name="expectedId">The id the file is stored under.</param>
    /// <param name="problem">Why no record can be served; null when one can.</param>
    /// <param name="record">Where the record served lies in <paramref name="content"/>.</param>
    /// <param name="skipped">
    /// When a record is served: why the newest complete line that ends with <c>}</c> and was skipped did not read, else
    /// null. A line a crash tore and a later append ended rarely ends with <c>}</c> (only when torn just after an inner
    /// object), so this is nearly always damage.
    /// </param>
    /// <returns>The session, or null when no record of the file can be served.</returns>
    public static SessionInfo? Read(ReadOnlySpan<byte> content, string expectedId, out string? problem, out Range record, out string? skipped)
    {
        skipped = null;
        int end = content.LastIndexOf((byte)'\n');
        if (end < 0)
        {
            // One record without a line break: a file of an earlier version (or one written by hand).
            record = Range.All;
            return StoredRecords.ReadSession(content, expectedId, out problem);
        }

        // Anything after the last newline is a record not written whole (a crash): never read, not even by the fallback.
        var complete = content[..(end + 1)];

        // The complete lines, newest first; anything after the last newline is a record not written whole (a crash).
        string? newest = null;
        while (end >= 0)
        {
            int start = end == 0 ? -1 : content[..end].LastIndexOf((byte)'\n');
            var line = content[(start + 1)..end];
            if (!line.IsEmpty && !line.SequenceEqual("\r"u8))
            {
                if (StoredRecords.ReadSession(line, expectedId, out string? lineProblem) is { } session)
                {
                    record = new Range(start + 1, end);
                    problem = null;
                    return session;
                }

                newest ??= lineProblem;
                if (skipped is null && line.TrimEnd("\r \t"u8).EndsWith("}"u8))
                {
                    skipped = lineProblem ?? "the record holds no session";
                }
            }

            end = start;
        }

        // No line reads: perhaps one record spread over several lines (indented by hand), up to the last newline.
        skipped = null;
        record = ..complete.Length;
        if (StoredRecords.ReadSession(complete, expectedId, out _) is { } whole)
        {
            problem = null;
            return whole;
        }

        problem = newest ?? "the record holds no session";
        return null;
    }
}
