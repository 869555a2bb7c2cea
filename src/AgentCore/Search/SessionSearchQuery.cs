namespace AgentCore;

/// <summary>
/// What <see cref="ISessionService.SearchAsync"/> looks for: messages whose text or tool output holds every word of
/// <see cref="Text"/>, across all sessions (or those with some metadata), best first.
/// </summary>
/// <remarks>
/// <para>A word is a run of letters, digits and combining marks; case is ignored and each query word matches every word
/// it starts (<c>deploy</c> finds <c>deployment</c>), so a search box can search as the user types. Punctuation
/// separates words and is otherwise ignored; there is no query syntax (quotes, <c>OR</c>, <c>-</c> are plain text).</para>
/// <para>Every member is checked when it is set, so a query that exists is valid: a bad value is an
/// <see cref="ArgumentException"/> whose message names it.</para>
/// </remarks>
public sealed record SessionSearchQuery
{
    /// <summary>How many hits a search returns at most unless <see cref="Limit"/> says otherwise: 20.</summary>
    public const int DefaultLimit = 20;

    /// <summary>The largest <see cref="Limit"/> allowed: 100.</summary>
    public const int MaxLimit = 100;

    /// <summary>The longest <see cref="Text"/> allowed, in characters: 200.</summary>
    public const int MaxTextLength = 200;

    /// <summary>The most distinct words <see cref="Text"/> may hold: 8.</summary>
    public const int MaxTerms = 8;

    /// <summary>The most characters of the searched text a <see cref="SearchSnippet"/> shows: 160.</summary>
    public const int MaxSnippetLength = 160;

    private readonly string _text = "";
    private readonly IReadOnlyList<string> _terms = [];
    private readonly IReadOnlyDictionary<string, string> _metadata = SessionInfo.EmptyMetadata;
    private readonly int _limit = DefaultLimit;

    /// <summary>Creates a query for <paramref name="text"/>.</summary>
    /// <param name="text">The words to find (see <see cref="Text"/>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="text"/> holds no word, too many words, or is too long.</exception>
    public SessionSearchQuery(string text)
    {
        Text = text;
    }

    /// <summary>
    /// The words to find, as a user types them: 1 to <see cref="MaxTerms"/> distinct words in at most
    /// <see cref="MaxTextLength"/> characters. A part matches when it holds, for every word, a word starting with it.
    /// </summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    /// <exception cref="ArgumentException">The text holds no word (empty, blank or only punctuation), more than
    /// <see cref="MaxTerms"/> distinct words, or more than <see cref="MaxTextLength"/> characters.</exception>
    public string Text
    {
        get => _text;
        init
        {
            ArgumentNullException.ThrowIfNull(value, nameof(Text));
            if (value.Length > MaxTextLength)
            {
                throw new ArgumentException($"The search text is {value.Length} characters long; at most {MaxTextLength} are allowed.", nameof(Text));
            }

            var terms = SearchText.Terms(value);
            if (terms.Count == 0)
            {
                throw new ArgumentException("The search text holds no word to search for (only spaces or punctuation, or nothing).", nameof(Text));
            }

            if (terms.Count > MaxTerms)
            {
                throw new ArgumentException($"The search text holds {terms.Count} distinct words; at most {MaxTerms} are allowed.", nameof(Text));
            }

            _text = value;
            _terms = terms.AsReadOnly();
        }
    }

    /// <summary>
    /// The words of <see cref="Text"/>, lower-cased (invariant culture), distinct, in order: what a store matches, each as a
    /// word prefix (in SQLite FTS5, <c>"word"*</c>; in PostgreSQL, <c>word:*</c>). Only letters, digits and marks.
    /// </summary>
    public IReadOnlyList<string> Terms => _terms;

    /// <summary>How many hits to return at most: 1 to <see cref="MaxLimit"/>; <see cref="DefaultLimit"/> by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1 or above <see cref="MaxLimit"/>.</exception>
    public int Limit
    {
        get => _limit;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(Limit));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxLimit, nameof(Limit));
            _limit = value;
        }
    }

    /// <summary>
    /// Metadata every searched session has, as in <see cref="SessionQuery.Metadata"/>: each key present with exactly that
    /// value (ordinal), for example <c>{ ["owner"] = "alice" }</c> to search only Alice's sessions. Empty (the default)
    /// searches every session.
    /// </summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    /// <exception cref="ArgumentException">A key is empty, or a value is null.</exception>
    public IReadOnlyDictionary<string, string> Metadata
    {
        get => _metadata;
        init => _metadata = MetadataFilter.Copy(value, nameof(Metadata));
    }

    /// <summary>Whether <paramref name="session"/> is one this query searches (it has the <see cref="Metadata"/>).</summary>
    /// <param name="session">A session.</param>
    /// <returns>True when the session holds every metadata pair of the query.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="session"/> is null.</exception>
    public bool Matches(SessionInfo session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return MetadataFilter.Matches(_metadata, session);
    }

    /// <summary>
    /// The hit <paramref name="part"/> of <paramref name="message"/> makes, or null: for stores that search by reading
    /// messages. Only completed messages are searched (<see cref="SessionMessage.CompletedAt"/> set), and only a
    /// <see cref="TextPart"/>'s text and a <see cref="ToolPart"/>'s output; the caller leaves out sessions that
    /// <see cref="Matches"/> rejects and messages a revert took out of the conversation.
    /// </summary>
    /// <param name="message">A stored message.</param>
    /// <param name="part">One of its parts.</param>
    /// <returns>The hit, scored by how often the words occur; null when the part does not hold every word.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> or <paramref name="part"/> is null.</exception>
    public SessionSearchHit? Match(SessionMessage message, MessagePart part)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(part);
        if (message.CompletedAt is null)
        {
            return null;
        }

        var (text, source) = part switch
        {
            TextPart t => (t.Text, SessionSearchSource.Text),
            ToolPart { Output: { } output } => (output, SessionSearchSource.ToolOutput),
            _ => (null, default),
        };
        if (text is null || !SearchText.Match(text, _terms, out double score))
        {
            return null;
        }

        return new SessionSearchHit
        {
            SessionId = message.SessionId,
            MessageId = message.Id,
            PartId = part.Id,
            Role = message.Role,
            CreatedAt = message.CreatedAt,
            Source = source,
            Snippet = SearchText.Snippet(text, _terms, MaxSnippetLength),
            Score = score,
        };
    }

    /// <summary>
    /// The snippet of <paramref name="text"/> for a hit: for stores that find hits in an index and need only the excerpt,
    /// marked the way every store marks it.
    /// </summary>
    /// <param name="text">The whole text the hit was found in.</param>
    /// <returns>At most <see cref="MaxSnippetLength"/> characters of it around the first match, with the matched words marked
    /// (from the start of the text, unmarked, when no word matches by these rules).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public SearchSnippet Snippet(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return SearchText.Snippet(text, _terms, MaxSnippetLength);
    }

    /// <summary>
    /// The order of hits: higher score first, then the newer message (greater id, ordinal), then session and part id
    /// descending. Negative when <paramref name="x"/> comes before <paramref name="y"/>.
    /// </summary>
    /// <param name="x">A hit.</param>
    /// <param name="y">Another hit.</param>
    /// <returns>A negative number, zero or a positive number, as for <see cref="IComparer{T}"/>.</returns>
    /// <exception cref="ArgumentNullException">A hit is null.</exception>
    public static int CompareHits(SessionSearchHit x, SessionSearchHit y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        int order = y.Score.CompareTo(x.Score);
        if (order == 0)
        {
            order = string.CompareOrdinal(y.MessageId, x.MessageId);
        }

        if (order == 0)
        {
            order = string.CompareOrdinal(y.SessionId, x.SessionId);
        }

        return order != 0 ? order : string.CompareOrdinal(y.PartId, x.PartId);
    }
}
