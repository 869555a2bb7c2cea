using System.Globalization;
using System.Text;

namespace AgentCore;

/// <summary>
/// The word rules of search, the same on every store: a word is a run of letters, digits and combining marks (as SQLite
/// FTS5's <c>unicode61</c> tokenizer sees it); a query word matches every word it starts, ignoring case.
/// </summary>
internal static class SearchText
{
    /// <summary>The words of <paramref name="text"/> as (start, length) ranges, in order.</summary>
    public static List<(int Start, int Length)> Words(ReadOnlySpan<char> text)
    {
        var words = new List<(int, int)>();
        int start = -1;
        int i = 0;
        while (i < text.Length)
        {
            Rune.DecodeFromUtf16(text[i..], out var rune, out int consumed);
            bool inWord = IsWordRune(rune);
            if (inWord && start < 0)
            {
                start = i;
            }
            else if (!inWord && start >= 0)
            {
                words.Add((start, i - start));
                start = -1;
            }

            i += consumed;
        }

        if (start >= 0)
        {
            words.Add((start, text.Length - start));
        }

        return words;
    }

    /// <summary>The distinct words of a query, lower-cased (invariant culture), in order of first appearance.</summary>
    public static List<string> Terms(string text)
    {
        var terms = new List<string>();
        foreach (var (start, length) in Words(text))
        {
            string term = text.Substring(start, length).ToLowerInvariant();
            if (!terms.Contains(term, StringComparer.Ordinal))
            {
                terms.Add(term);
            }
        }

        return terms;
    }

    /// <summary>
    /// Whether every term starts a word of <paramref name="text"/>, and if so a score: the sum over the terms of
    /// ln(1 + the number of words the term starts), so more occurrences rank higher with diminishing returns.
    /// </summary>
    public static bool Match(string text, IReadOnlyList<string> terms, out double score)
    {
        score = 0;
        Span<int> counts = stackalloc int[terms.Count];
        foreach (var (start, length) in Words(text))
        {
            var word = text.AsSpan(start, length);
            for (int t = 0; t < terms.Count; t++)
            {
                if (word.StartsWith(terms[t], StringComparison.OrdinalIgnoreCase))
                {
                    counts[t]++;
                }
            }
        }

        foreach (int count in counts)
        {
            if (count == 0)
            {
                return false;
            }

            score += Math.Log(1 + count);
        }

        return true;
    }

    /// <summary>An excerpt of <paramref name="text"/> around the first word a term starts, at most <paramref name="maxLength"/> characters of it.</summary>
    public static SearchSnippet Snippet(string text, IReadOnlyList<string> terms, int maxLength)
    {
        var words = Words(text);
        int first = words.FindIndex(w => Matches(text, w, terms));
        int begin = 0;
        if (first > 0)
        {
            // Some context before the match (a third of the excerpt, more near the end of the text), from a word's start.
            int target = Math.Min(words[first].Start - (maxLength / 3), text.Length - maxLength);
            if (target > 0)
            {
                int from = first;
                while (from > 0 && words[from - 1].Start >= target)
                {
                    from--;
                }

                begin = words[from].Start;
            }
        }

        int end = Math.Min(text.Length, begin + maxLength);
        if (end < text.Length)
        {
            // End after the last whole word that fits, when one does.
            int last = words.FindLastIndex(w => w.Start >= begin && w.Start + w.Length <= end);
            if (last >= 0 && words[last].Start + words[last].Length > begin)
            {
                end = words[last].Start + words[last].Length;
            }
        }

        if (end < text.Length && end > begin && char.IsHighSurrogate(text[end - 1]))
        {
            end--; // never split a surrogate pair
        }

        var builder = new StringBuilder(end - begin + 2);
        if (begin > 0)
        {
            builder.Append('…');
        }

        int offset = builder.Length - begin;
        foreach (char c in text.AsSpan(begin, end - begin))
        {
            builder.Append(char.IsControl(c) ? ' ' : c);
        }

        if (end < text.Length)
        {
            builder.Append('…');
        }

        var highlights = new List<SearchHighlight>();
        foreach (var word in words)
        {
            if (word.Start >= begin && word.Start < end && Matches(text, word, terms))
            {
                highlights.Add(new SearchHighlight(word.Start + offset, Math.Min(word.Length, end - word.Start)));
            }
        }

        return new SearchSnippet { Text = builder.ToString(), Highlights = highlights };
    }

    private static bool Matches(string text, (int Start, int Length) word, IReadOnlyList<string> terms)
    {
        var span = text.AsSpan(word.Start, word.Length);
        foreach (string term in terms)
        {
            if (span.StartsWith(term, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsWordRune(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
            or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber
            or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.PrivateUse => true,
        _ => false,
    };
}
