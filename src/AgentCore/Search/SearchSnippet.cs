namespace AgentCore;

/// <summary>
/// A short excerpt of the text a <see cref="SessionSearchHit"/> was found in, around its first match, with the matched words
/// marked by position (so a page can mark them without putting the text through HTML).
/// </summary>
/// <remarks>
/// At most <see cref="SessionSearchQuery.MaxSnippetLength"/> characters of the text, cut at word boundaries; an excerpt that
/// does not start (or end) where the text does starts (or ends) with <c>…</c>. Control characters (line breaks, tabs) are shown as spaces.
/// </remarks>
public sealed record SearchSnippet
{
    /// <summary>The excerpt.</summary>
    public required string Text { get; init; }

    /// <summary>The matched words in <see cref="Text"/>, in order, not overlapping; empty when none falls in the excerpt.</summary>
    public required IReadOnlyList<SearchHighlight> Highlights { get; init; }
}
