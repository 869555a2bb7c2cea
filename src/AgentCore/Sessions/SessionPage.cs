namespace AgentCore;

/// <summary>One page of a <see cref="SessionQuery"/>'s listing.</summary>
public sealed record SessionPage
{
    /// <summary>The sessions of the page, newest first (by creation, ties broken by id descending); at most the query's page size.</summary>
    public required IReadOnlyList<SessionInfo> Sessions { get; init; }

    /// <summary>The cursor of the next page (set it as <see cref="SessionQuery.Cursor"/>); null when this page is the last.</summary>
    public string? NextCursor { get; init; }
}
