namespace AgentCore;

/// <summary>
/// What <see cref="ISessionService.ListAsync(SessionQuery, CancellationToken)"/> lists: sessions matching every filter
/// that is set, newest first by <see cref="SessionInfo.CreatedAt"/> (ties broken by id, descending — the order of
/// <see cref="ISessionService.ListAsync(CancellationToken)"/>), one page at a time.
/// </summary>
/// <remarks>
/// Every member is checked when it is set, so a query that exists is valid: a bad value is an
/// <see cref="ArgumentException"/> whose message names it. To read the next page, pass the page's
/// <see cref="SessionPage.NextCursor"/> in a query with the same filters (<c>query with { Cursor = page.NextCursor }</c>).
/// </remarks>
public sealed record SessionQuery
{
    /// <summary>The number of sessions a page holds at most unless <see cref="PageSize"/> says otherwise: 50.</summary>
    public const int DefaultPageSize = 50;

    /// <summary>The largest <see cref="PageSize"/> allowed: 1 000.</summary>
    public const int MaxPageSize = 1_000;

    private readonly IReadOnlyDictionary<string, string> _metadata = SessionInfo.EmptyMetadata;
    private readonly string? _parentId;
    private readonly int _pageSize = DefaultPageSize;
    private readonly string? _cursor;
    private readonly SessionCursor? _position;

    /// <summary>
    /// Metadata every listed session has: each key present in <see cref="SessionInfo.Metadata"/> with exactly that value
    /// (ordinal, case-sensitive), for example <c>{ ["owner"] = "alice" }</c>. Empty (the default) filters nothing.
    /// </summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    /// <exception cref="ArgumentException">A key is empty, or a value is null.</exception>
    public IReadOnlyDictionary<string, string> Metadata
    {
        get => _metadata;
        init => _metadata = MetadataFilter.Copy(value, nameof(Metadata));
    }

    /// <summary>Lists only the sessions whose <see cref="SessionInfo.ParentId"/> is this id (its forks and children); null filters nothing.</summary>
    /// <exception cref="ArgumentException">The id is malformed (the message names it).</exception>
    public string? ParentId
    {
        get => _parentId;
        init => _parentId = value is null ? null : Identifier.Validate(value, IdKind.Session, nameof(ParentId));
    }

    /// <summary>Lists only the sessions whose <see cref="SessionInfo.UpdatedAt"/> is later than this (exclusive); null filters nothing.</summary>
    public DateTimeOffset? UpdatedAfter { get; init; }

    /// <summary>Lists only the sessions whose <see cref="SessionInfo.UpdatedAt"/> is earlier than this (exclusive); null filters nothing.</summary>
    public DateTimeOffset? UpdatedBefore { get; init; }

    /// <summary>How many sessions a page holds at most: 1 to <see cref="MaxPageSize"/>; <see cref="DefaultPageSize"/> by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1 or above <see cref="MaxPageSize"/>.</exception>
    public int PageSize
    {
        get => _pageSize;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(PageSize));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxPageSize, nameof(PageSize));
            _pageSize = value;
        }
    }

    /// <summary>
    /// Where the page starts: the <see cref="SessionPage.NextCursor"/> of the page before; null (the default) for the first
    /// page. Opaque: it names a position in the listing order, so a session created or deleted meanwhile never makes a
    /// page repeat or skip another.
    /// </summary>
    /// <exception cref="ArgumentException">The value is not a cursor AgentCore wrote (the message names it).</exception>
    public string? Cursor
    {
        get => _cursor;
        init
        {
            _position = value is null ? null : SessionCursor.Parse(value, nameof(Cursor));
            _cursor = value;
        }
    }

    /// <summary>The position <see cref="Cursor"/> names, decoded; null for the first page. For stores that page natively.</summary>
    public SessionCursor? After => _position;

    /// <summary>Whether <paramref name="session"/> passes every filter of this query (the cursor and page size aside).</summary>
    /// <param name="session">A session.</param>
    /// <returns>True when the session has the metadata, the parent and an update time in range.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="session"/> is null.</exception>
    public bool Matches(SessionInfo session)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (_parentId is not null && !string.Equals(session.ParentId, _parentId, StringComparison.Ordinal))
        {
            return false;
        }

        if (UpdatedAfter is { } after && session.UpdatedAt <= after)
        {
            return false;
        }

        if (UpdatedBefore is { } before && session.UpdatedAt >= before)
        {
            return false;
        }

        return MetadataFilter.Matches(_metadata, session);
    }
}
