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
/// file beside the session file, which nothing reads (the session file is the one before the rewrite, whole).</para>
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
    public static SessionInfo? Read(ReadOnlySpan<byte> content, string expectedId, out string? problem, out Range record)
    {
        int end = content.LastIndexOf((byte)'\n');
        if (end < 0)
        {
            // One record without a line break: a file of an earlier version (or one written by hand).
            record = Range.All;
            return StoredRecords.ReadSession(content, expectedId, out problem);
        }

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
            }

            end = start;
        }

        // No line reads: perhaps one record spread over several lines (indented by hand).
        record = Range.All;
        if (StoredRecords.ReadSession(content, expectedId, out _) is { } whole)
        {
            problem = null;
            return whole;
        }

        problem = newest ?? "the record holds no session";
        return null;
    }
}
