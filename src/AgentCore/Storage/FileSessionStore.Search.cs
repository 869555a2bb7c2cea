namespace AgentCore;

/// <summary>Search by a streaming scan of the session files and their journals.</summary>
public sealed partial class FileSessionStore
{
    /// <inheritdoc />
    /// <remarks>
    /// A scan without an index: the session files are enumerated lazily and read a few at a time in parallel; each session
    /// the query searches has its journal replayed and matched, and only the best <see cref="SessionSearchQuery.Limit"/>
    /// hits are kept, so memory holds a few sessions' messages at a time however large the folder. Time grows with the
    /// size of the folder (see docs/performance.md). Each session is seen as it was when its journal was read.
    /// </remarks>
    public async ValueTask<IReadOnlyList<SessionSearchHit>> SearchAsync(SessionSearchQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var results = new SearchResults(query.Limit);
        if (!Directory.Exists(_sessionsDirectory))
        {
            return results.ToList();
        }

        var paths = Directory.EnumerateFiles(_sessionsDirectory, "*.json")
            .Where(static path => Identifier.IsValid(Path.GetFileNameWithoutExtension(path), IdKind.Session));
        var parallel = new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount) };
        await Parallel.ForEachAsync(paths, parallel, async (path, token) =>
        {
            string sessionId = Path.GetFileNameWithoutExtension(path);
            if (await ReadSessionFileAsync(path, sessionId, token).ConfigureAwait(false) is not { } session || !query.Matches(session))
            {
                return;
            }

            var replay = await ReplayAsync(JournalPath(sessionId), sessionId, log: true, token).ConfigureAwait(false);
            var found = new SearchResults(query.Limit);
            found.AddMatches(query, session, replay.Messages);
            lock (results)
            {
                foreach (var hit in found.ToList())
                {
                    results.Add(hit);
                }
            }
        }).ConfigureAwait(false);

        return results.ToList();
    }
}
