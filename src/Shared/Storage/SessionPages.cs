namespace AgentCore;

/// <summary>Builds a <see cref="SessionPage"/> from the matches of a query, read one past the page.</summary>
/// <remarks>Linked source (<c>src/Shared</c>), compiled into each store package as an internal type.</remarks>
internal static class SessionPages
{
    /// <summary>
    /// The page of <paramref name="matches"/> (in listing order, at most <paramref name="pageSize"/> + 1 of them): the
    /// first <paramref name="pageSize"/>, with a next cursor when there is one more.
    /// </summary>
    public static SessionPage Of(List<SessionInfo> matches, int pageSize)
    {
        if (matches.Count <= pageSize)
        {
            return new SessionPage { Sessions = matches };
        }

        matches.RemoveRange(pageSize, matches.Count - pageSize);
        return new SessionPage { Sessions = matches, NextCursor = SessionCursor.After(matches[^1]).ToString() };
    }
}
