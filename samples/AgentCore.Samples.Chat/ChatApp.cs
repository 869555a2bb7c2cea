using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentCore.Samples.Chat;

/// <summary>
/// The chat itself: one current session, a turn per message (streamed as it arrives), and the slash commands
/// (<see cref="RunCommandAsync"/>, in ChatCommands.cs).
/// </summary>
internal sealed partial class ChatApp : IAsyncDisposable
{
    /// <summary>How long the sample waits, after a session's first turn, for the title generated in the background.</summary>
    private static readonly TimeSpan TitleWait = TimeSpan.FromSeconds(20);

    private readonly ISessionService _sessions;
    private readonly ISessionHistory _history;
    private readonly IServiceProvider _services;
    private readonly ModelChoice _model;
    private readonly TitleWatcher _titles;
    private readonly TextWriter _out;
    private SessionInfo? _current;
    private string? _running;

    public ChatApp(IServiceProvider services, ModelChoice model, TextWriter output)
    {
        _services = services;
        _sessions = services.GetRequiredService<ISessionService>();
        _history = services.GetRequiredService<ISessionHistory>();
        _titles = new TitleWatcher(services.GetRequiredService<ISessionEvents>());
        _model = model;
        _out = output;
    }

    /// <summary>Says what runs where, starts the MCP servers, and resumes a session when asked to.</summary>
    public async Task StartAsync(string? resume)
    {
        var options = _services.GetRequiredService<IOptions<AgentCoreOptions>>().Value;
        _out.WriteLine($"AgentCore chat sample. Model: {_model.Model}. Sessions and usage history: {options.DataDirectory}");
        if (_model.IsOfflineDemo)
        {
            _out.WriteLine("Offline demo model: ANTHROPIC_API_KEY is not set, so the replies come from a built-in demo, not a real model.");
            _out.WriteLine("It repeats what you say, calls get_time when you mention the time and save_note when you mention a note. Its prices are pretend; nothing leaves this machine.");
        }
        else
        {
            var pricing = _model.Info.Pricing;
            _out.WriteLine($"Claude through Anthropic's SDK; titles by {_model.TitleModel}. Assumed prices per million tokens: " +
                           $"{Text.Price(pricing.InputPerMillion)} in, {Text.Price(pricing.OutputPerMillion)} out, " +
                           $"{Text.Price(pricing.CacheReadPerMillion)} cache read, {Text.Price(pricing.CacheWritePerMillion)} cache write.");
        }

        _out.WriteLine($"Tools: {LocalTools.GetTimeName}, {LocalTools.SaveNoteName} (asks you first)");
        foreach (var server in await _services.GetRequiredService<IMcpServers>().ConnectAsync())
        {
            _out.WriteLine(server.Status == McpServerStatus.Connected
                ? $"MCP server '{server.Name}': connected, {Text.Plural(server.ToolCount, "tool")} (named {server.Name}_<tool>)"
                : $"MCP server '{server.Name}': {server.Status.ToString().ToLowerInvariant()}{(server.Error is null ? "" : ": " + server.Error)}");
        }

        if (resume is not null)
        {
            await ResumeAsync(resume);
        }
    }

    /// <summary><c>--prompt</c>: one turn, then exit. Returns the process exit code.</summary>
    /// <param name="prompt">The message.</param>
    /// <param name="input">Where answers to approval questions come from (none left: the call is rejected).</param>
    public async Task<int> RunOnceAsync(string prompt, TextReader input) =>
        await ChatAsync(prompt, input, echo: false) == "completed" ? 0 : 1;

    /// <summary>The interactive chat: a turn per line, slash commands, until <c>/quit</c> or the end of the input.</summary>
    /// <param name="input">Where the lines come from.</param>
    /// <param name="echo">Whether to repeat each line after the prompt (when the input is piped, so the output reads as a transcript).</param>
    public async Task<int> RunInteractiveAsync(TextReader input, bool echo)
    {
        _out.WriteLine("Type a message, or /help for the commands. Ctrl+C stops a reply.");
        while (true)
        {
            _out.Write("> ");
            string? line = await input.ReadLineAsync();
            if (line is null)
            {
                _out.WriteLine();
                return 0;
            }

            if (echo)
            {
                _out.WriteLine(line);
            }

            line = line.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (line.Equals("/approve", StringComparison.OrdinalIgnoreCase))
            {
                await ApproveWaitingAsync(input, echo);
                continue;
            }

            if (line.StartsWith('/'))
            {
                if (!await RunCommandAsync(line))
                {
                    return 0;
                }

                continue;
            }

            await ChatAsync(line, input, echo);
        }
    }

    /// <summary>Ctrl+C: aborts the running turn. Returns false when none runs (then Ctrl+C ends the program).</summary>
    public bool AbortRunningTurn() => Volatile.Read(ref _running) is { } sessionId && _sessions.Abort(sessionId);

    /// <summary>
    /// One turn in the current session (created on the first message), and the turns that answer its approval questions.
    /// Returns the last turn's exit reason.
    /// </summary>
    private async Task<string> ChatAsync(string text, TextReader input, bool echo)
    {
        var session = _current ??= await _sessions.CreateAsync();
        bool untitled = session.HasDefaultTitle;
        var printer = await AnswerUntilDoneAsync(await RunTurnAsync(new ChatRequest { SessionId = session.Id, Text = text }), input, echo);

        if (untitled && printer.Completed?.ExitReason == ExitReason.Completed)
        {
            string? title = _current!.HasDefaultTitle ? await _titles.WaitAsync(session.Id, TitleWait) : _current.Title;
            if (title is not null)
            {
                // The title call is billed too: AgentCore adds it to the session's totals with the title.
                _current = await _sessions.GetAsync(session.Id);
                _out.WriteLine($"-- title: {title} | session total with the title call: {Text.Money(_current.Cost)}");
            }
        }

        return printer.Completed?.ExitReason.Value ?? "error";
    }

    /// <summary>While a turn stops with calls waiting for approval: asks, then continues the turn with the answers.</summary>
    private async Task<TurnPrinter> AnswerUntilDoneAsync(TurnPrinter printer, TextReader input, bool echo)
    {
        while (printer.Completed is { ExitReason: var exit, SessionId: var sessionId } && exit == ExitReason.AwaitingApproval && printer.Approvals.Count > 0)
        {
            // The turn stopped: the session is free and the calls wait in the store.
            if (await AnswerApprovalsAsync(sessionId, printer.Approvals.Select(static a => a.Request), input, echo) is not { } answers)
            {
                break;
            }

            printer = await RunTurnAsync(new ChatRequest { SessionId = sessionId, Contents = answers });
        }

        return printer;
    }

    /// <summary><c>/approve</c>: answers the calls the current session has waiting (after a restart, say), and continues its turn.</summary>
    private async Task ApproveWaitingAsync(TextReader input, bool echo)
    {
        var waiting = _current is null ? [] : await _sessions.GetPendingApprovalsAsync(_current.Id);
        if (waiting.Count == 0)
        {
            _out.WriteLine("Nothing waits for your approval in the current session.");
            return;
        }

        if (await AnswerApprovalsAsync(_current!.Id, waiting, input, echo) is not { } answers)
        {
            return;
        }

        await AnswerUntilDoneAsync(await RunTurnAsync(new ChatRequest { SessionId = _current.Id, Contents = answers }), input, echo);
    }

    /// <summary>
    /// Asks y (run it), n (do not) or a (always allow this tool in this session) for each waiting call. Returns null when
    /// the input ends first: the calls keep waiting in the store, for <c>/resume</c> and <c>/approve</c> in a later run.
    /// </summary>
    private async Task<List<Microsoft.Extensions.AI.AIContent>?> AnswerApprovalsAsync(
        string sessionId, IEnumerable<Microsoft.Extensions.AI.ToolApprovalRequestContent> requests, TextReader input, bool echo)
    {
        var answers = new List<Microsoft.Extensions.AI.AIContent>();
        foreach (var request in requests)
        {
            string toolName = (request.ToolCall as Microsoft.Extensions.AI.FunctionCallContent)?.Name ?? "the tool";
            _out.Write($"Run {toolName}? [y]es, [n]o, [a]lways in this session: ");
            string? answer = await input.ReadLineAsync();
            if (answer is null)
            {
                _out.WriteLine();
                _out.WriteLine($"-- no answer: the call keeps waiting. Run the sample with --resume {sessionId} and type /approve to answer it.");
                return null;
            }

            if (echo)
            {
                _out.WriteLine(answer);
            }

            answer = answer.Trim().ToLowerInvariant();
            if (answer is "a" or "always")
            {
                await _sessions.AlwaysAllowToolAsync(sessionId, toolName);
            }

            bool approved = answer is "y" or "yes" or "a" or "always";
            answers.Add(request.CreateResponse(approved, approved ? null : "the user said no"));
        }

        return answers;
    }

    /// <summary>Runs one turn, printing its events and then its cost line.</summary>
    private async Task<TurnPrinter> RunTurnAsync(ChatRequest request)
    {
        var printer = new TurnPrinter(_out);
        Volatile.Write(ref _running, request.SessionId);
        try
        {
            await foreach (var sessionEvent in _sessions.ChatStreamingAsync(request))
            {
                printer.Print(sessionEvent);
            }
        }
        catch (Exception ex)
        {
            // A failed turn ends with TurnCompleted carrying the error (printed above), then throws it; a turn that
            // could not start (the session is busy elsewhere, say) throws at once. AgentCore's messages carry no secrets.
            printer.EndLine();
            if (printer.Completed is null)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
            }
        }
        finally
        {
            Volatile.Write(ref _running, null);
        }

        _current = await _sessions.GetAsync(request.SessionId);
        if (printer.Completed is { Message: var reply } completed)
        {
            int steps = reply.Parts.OfType<StepFinishPart>().Count();
            _out.WriteLine($"-- {completed.ExitReason}, {Text.Plural(steps, "step")} | tokens: {reply.Tokens.TotalInput:N0} in, {reply.Tokens.Output:N0} out" +
                           (reply.Tokens.CacheRead > 0 ? $" ({reply.Tokens.CacheRead:N0} read from cache)" : "") +
                           $" | cost: {Text.Money(reply.Cost)} | session total: {Text.Money(_current.Cost)}");
        }

        return printer;
    }

    public ValueTask DisposeAsync() => _titles.DisposeAsync();
}
