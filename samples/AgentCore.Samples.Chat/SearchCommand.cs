namespace AgentCore.Samples.Chat;

/// <summary>The /search command: full-text search over every session.</summary>
internal sealed partial class ChatApp
{
    private const string SearchHelp = """
        /search <words>      find the messages (and tool outputs) of every session holding all the words
        """;

    private async Task SearchAsync(string text)
    {
        if (text.Length == 0)
        {
            _out.WriteLine("Usage: /search <words>");
            return;
        }

        IReadOnlyList<SessionSearchHit> hits;
        try
        {
            hits = await _sessions.SearchAsync(new SessionSearchQuery(text) { Limit = 10 });
        }
        catch (ArgumentException ex)
        {
            _out.WriteLine(ex.Message);
            return;
        }

        if (hits.Count == 0)
        {
            _out.WriteLine($"Nothing found for \"{text}\".");
            return;
        }

        var titles = new Dictionary<string, string>(StringComparer.Ordinal);
        var numbers = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < hits.Count; i++)
        {
            var hit = hits[i];
            if (!titles.ContainsKey(hit.SessionId))
            {
                // The title, and each message's number in its conversation (what /fork and /revert take).
                titles[hit.SessionId] = (await _sessions.GetAsync(hit.SessionId)).Title;
                var messages = await _sessions.GetMessagesAsync(hit.SessionId);
                for (int n = 0; n < messages.Count; n++)
                {
                    numbers[messages[n].Id] = n + 1;
                }
            }

            string where = hit.Source == SessionSearchSource.ToolOutput ? "tool output" : hit.Role.Value;
            string number = numbers.TryGetValue(hit.MessageId, out int found) ? found.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?";
            _out.WriteLine($"{i + 1,3}. {hit.SessionId} \"{titles[hit.SessionId]}\" message {number} ({where}, {Text.Local(hit.CreatedAt)}):");
            _out.WriteLine($"     {Marked(hit.Snippet)}");
        }

        _out.WriteLine($"{hits.Count} {(hits.Count == 1 ? "match" : "matches")}. /resume <session id> to continue one.");
    }

    /// <summary>The snippet with each matched word between <c>[</c> and <c>]</c>.</summary>
    private static string Marked(SearchSnippet snippet)
    {
        var text = new System.Text.StringBuilder(snippet.Text.Length + (snippet.Highlights.Count * 2));
        int at = 0;
        foreach (var highlight in snippet.Highlights)
        {
            text.Append(snippet.Text, at, highlight.Start - at).Append('[').Append(snippet.Text, highlight.Start, highlight.Length).Append(']');
            at = highlight.Start + highlight.Length;
        }

        return text.Append(snippet.Text, at, snippet.Text.Length - at).ToString();
    }
}
