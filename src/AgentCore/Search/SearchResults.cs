namespace AgentCore;

/// <summary>The best hits seen so far, at most a limit of them: what a scanning search keeps in memory.</summary>
internal sealed class SearchResults(int limit)
{
    // Worst hit on top, so a better one replaces it.
    private readonly PriorityQueue<SessionSearchHit, SessionSearchHit> _best = new(
        Comparer<SessionSearchHit>.Create(static (x, y) => SessionSearchQuery.CompareHits(y, x)));

    /// <summary>Keeps <paramref name="hit"/> when it is among the best so far.</summary>
    public void Add(SessionSearchHit hit)
    {
        if (_best.Count < limit)
        {
            _best.Enqueue(hit, hit);
        }
        else if (SessionSearchQuery.CompareHits(hit, _best.Peek()) < 0)
        {
            _best.DequeueEnqueue(hit, hit);
        }
    }

    /// <summary>The hits kept, best first.</summary>
    public IReadOnlyList<SessionSearchHit> ToList()
    {
        var list = _best.UnorderedItems.Select(static i => i.Element).ToList();
        list.Sort(SessionSearchQuery.CompareHits);
        return list;
    }

    /// <summary>
    /// Searches the messages of <paramref name="session"/> (those in its conversation: none a revert took out) and keeps
    /// the best hits. The caller has checked that <paramref name="query"/> searches the session.
    /// </summary>
    public void AddMatches(SessionSearchQuery query, SessionInfo session, IReadOnlyList<SessionMessage> messages)
    {
        foreach (var message in messages)
        {
            if (session.RevertedAfter is { } point && string.CompareOrdinal(message.Id, point) > 0)
            {
                continue;
            }

            foreach (var part in message.Parts)
            {
                if (query.Match(message, part) is { } hit)
                {
                    Add(hit);
                }
            }
        }
    }
}
