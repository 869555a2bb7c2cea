namespace AgentCore.Samples.Chat;

/// <summary>The slash commands of the interactive chat.</summary>
internal sealed partial class ChatApp
{
    private const string Help = """
        /sessions            list the sessions, newest first: title, cost, last update
        /resume <id or #>    continue a session (# is its number in /sessions)
        /new                 start a new session with your next message
        /compact             summarize the current session; later prompts start from the summary
        /approve             answer the tool calls the current session has waiting for your approval
        /history             the usage history: a line per turn, and totals
        /quit                leave (so does the end of the input)
        """;

    /// <summary>Runs a command. Returns false when the chat should end.</summary>
    private async Task<bool> RunCommandAsync(string line)
    {
        string[] words = line.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string argument = words.Length > 1 ? words[1] : "";
        switch (words[0].ToLowerInvariant())
        {
            case "/quit" or "/exit":
                return false;
            case "/help":
                _out.WriteLine(Help);
                _out.WriteLine(LifecycleHelp);
                _out.WriteLine(SearchHelp);
                break;
            case "/new":
                _current = null;
                _out.WriteLine("A new session starts with your next message.");
                break;
            case "/sessions":
                await ListSessionsAsync();
                break;
            case "/resume" when argument.Length > 0:
                await ResumeAsync(argument);
                break;
            case "/resume":
                _out.WriteLine("Usage: /resume <session id or number from /sessions>");
                break;
            case "/compact":
                await CompactAsync();
                break;
            case "/history":
                await ShowHistoryAsync();
                break;
            case "/fork":
                await ForkAsync(argument);
                break;
            case "/revert":
                await RevertAsync(argument);
                break;
            case "/unrevert":
                await UnrevertAsync();
                break;
            case "/export":
                await ExportAsync(argument);
                break;
            case "/import":
                await ImportAsync(argument);
                break;
            case "/search":
                await SearchAsync(argument);
                break;
            default:
                _out.WriteLine($"Unknown command {words[0]}. Commands:");
                _out.WriteLine(Help);
                _out.WriteLine(LifecycleHelp);
                _out.WriteLine(SearchHelp);
                break;
        }

        return true;
    }

    private async Task ListSessionsAsync()
    {
        const int Shown = 20;
        int count = 0;
        await foreach (var session in _sessions.ListAsync())
        {
            if (++count > Shown)
            {
                continue;
            }

            string marker = session.Id == _current?.Id ? "*" : " ";
            _out.WriteLine($"{marker}{count,3}. {session.Id} | {session.Title} | {Text.Money(session.Cost)} | updated {Text.Local(session.UpdatedAt)}");
        }

        _out.WriteLine(count switch
        {
            0 => "No sessions yet: send a message to start one.",
            > Shown => $"({count - Shown} older sessions not shown)",
            _ => $"{Text.Plural(count, "session")}.",
        });
    }

    /// <summary>Makes a session current, by id or by its number in the listing (newest first).</summary>
    private async Task ResumeAsync(string idOrNumber)
    {
        SessionInfo? session = null;
        try
        {
            if (int.TryParse(idOrNumber, out int number))
            {
                session = number >= 1 ? await _sessions.ListAsync().Skip(number - 1).FirstOrDefaultAsync() : null;
            }
            else
            {
                session = await _sessions.GetAsync(idOrNumber);
            }
        }
        catch (Exception ex) when (ex is SessionNotFoundException or ArgumentException)
        {
            _out.WriteLine(ex.Message);
            return;
        }

        if (session is null)
        {
            _out.WriteLine($"There is no session number {idOrNumber}: see /sessions.");
            return;
        }

        _current = session;
        var messages = await _sessions.GetMessagesAsync(session.Id);
        _out.WriteLine($"Resumed {session.Id} \"{session.Title}\": {Text.Plural(messages.Count, "message")}, {Text.Money(session.Cost)} so far.");
        foreach (var message in messages.Where(m => m.Text.Length > 0).TakeLast(2))
        {
            _out.WriteLine($"  {(message.IsSummary ? "summary" : message.Role.Value)}: {Text.Short(message.Text, 120)}");
        }
        // Calls a turn left waiting (maybe in another run of the sample) are read from the store.
        var waiting = await _sessions.GetPendingApprovalsAsync(session.Id);
        if (waiting.Count > 0)
        {
            _out.WriteLine($"  {Text.Plural(waiting.Count, "tool call")} waiting for your approval: /approve to answer, or a new message rejects them.");
        }
    }

    private async Task CompactAsync()
    {
        if (_current is null)
        {
            _out.WriteLine("No current session: send a message first, or /resume one.");
            return;
        }

        try
        {
            var summary = await _sessions.SummarizeAsync(_current.Id);
            _current = await _sessions.GetAsync(_current.Id);
            _out.WriteLine($"-- compacted: later prompts start from this summary ({Text.Plural(summary.Tokens.Total, "token")}, {Text.Money(summary.Cost)}):");
            _out.WriteLine($"   {Text.Short(summary.Text, 300)}");
        }
        catch (Exception ex) when (ex is AgentCoreException or InvalidOperationException)
        {
            // Nothing new to summarize, the session is busy, or the model failed.
            _out.WriteLine($"Not compacted: {ex.Message}");
        }
    }

    /// <summary>Reads the usage history (one start and one end entry per turn) and prints the ended turns and totals.</summary>
    private async Task ShowHistoryAsync()
    {
        const int Shown = 20;
        var turns = new List<SessionHistoryEntry>();
        await foreach (var entry in _history.ReadAsync())
        {
            if (entry.ExitReason is not null)
            {
                turns.Add(entry);
            }
        }

        if (turns.Count == 0)
        {
            _out.WriteLine("The usage history is empty: it gets a line when a turn ends.");
            return;
        }

        if (turns.Count > Shown)
        {
            _out.WriteLine($"({turns.Count - Shown} earlier turns not shown)");
        }

        foreach (var turn in turns.TakeLast(Shown))
        {
            _out.WriteLine($"{Text.Local(DateTimeOffset.FromUnixTimeMilliseconds(turn.Timestamp))} | {turn.SessionId} | {turn.Provider}/{turn.Model} | " +
                           $"{turn.ExitReason} | {Text.Plural(turn.Usage.Steps, "step")} | {turn.Usage.PromptTokens:N0} in, {turn.Usage.CompletionTokens:N0} out | " +
                           $"{Text.Money(turn.Cost.UsdByok ?? 0m)} | {turn.Duration.WallMs / 1000:0.0} s");
        }

        _out.WriteLine(Totals("Total", turns));
        if (_current is not null)
        {
            _out.WriteLine(Totals("This session", turns.Where(t => t.SessionId == _current.Id).ToList()));
        }
    }

    // A run is a turn or a title call (which has a line of its own, with no messages, so the lines add up to the session totals).
    private static string Totals(string label, IReadOnlyCollection<SessionHistoryEntry> turns) =>
        $"{label}: {Text.Plural(turns.Count, "run")}, {turns.Sum(t => t.Usage.PromptTokens):N0} tokens in, " +
        $"{turns.Sum(t => t.Usage.CompletionTokens):N0} out, {Text.Money(turns.Sum(t => t.Cost.UsdByok ?? 0m))}";
}
