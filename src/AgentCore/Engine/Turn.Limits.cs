using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>
/// The guard rails of a turn: budgets checked before each model call, the repeated-call guard, the cap on tool calls
/// failing in a row, and the bounded wait for a tool that ignores an abort. See docs/approval-and-limits.md.
/// </summary>
internal sealed partial class Turn
{
    private readonly HashSet<string> _repeatsNeedingApproval = new(StringComparer.Ordinal);
    // The previous call the guard saw (its tool and arguments are compared, not copied).
    private ToolPart? _lastCall;
    private int _repeats;
    private int _consecutiveToolErrors;
    private bool _doomLoop;
    private MessageError? _limitError;

    /// <summary>Before a model call: the exit reason when a budget is spent (and the message's error saying which), else null.</summary>
    private ExitReason? CheckBudgets()
    {
        var budget = _setup.Budget;
        decimal? maxTurnCost = budget?.MaxCostPerTurn ?? _options.MaxCostPerTurn;
        decimal? maxSessionCost = budget?.MaxCostPerSession ?? _options.MaxCostPerSession;
        long? maxTurnTokens = budget?.MaxTokensPerTurn ?? _options.MaxTokensPerTurn;
        decimal sessionCost = _setup.Session.Cost + _message.Cost;
        string? why =
            maxTurnCost is { } turnCost && _message.Cost >= turnCost
                ? string.Create(CultureInfo.InvariantCulture, $"The turn stopped: it has cost {_message.Cost} USD, its budget (MaxCostPerTurn) is {turnCost} USD.")
            : maxSessionCost is { } sessionLimit && sessionCost >= sessionLimit
                ? string.Create(CultureInfo.InvariantCulture, $"The turn stopped: the session has cost {sessionCost} USD, its budget (MaxCostPerSession) is {sessionLimit} USD.")
            : maxTurnTokens is { } tokens && _message.Tokens.Total >= tokens
                ? string.Create(CultureInfo.InvariantCulture, $"The turn stopped: it has used {_message.Tokens.Total} tokens, its budget (MaxTokensPerTurn) is {tokens}.")
            : null;
        if (why is null)
        {
            return null;
        }

        LogBudgetExceeded(SessionId);
        _limitError = new MessageError(MessageErrorKind.BudgetExceeded, why);
        return ExitReason.BudgetExceeded;
    }

    /// <summary>
    /// The repeated-call guard: a call that makes the same tool and arguments <see cref="AgentCoreOptions.DoomLoopThreshold"/>
    /// times in a row is not run (the turn then ends with <c>doom_loop</c>) or, with
    /// <see cref="AgentCoreOptions.DoomLoopRequiresApproval"/>, waits for approval. Returns the calls that may go on.
    /// </summary>
    private async ValueTask<List<(FunctionCallContent Call, ToolPart Part)>> GuardRepeatsAsync(List<(FunctionCallContent Call, ToolPart Part)> calls)
    {
        if (_options.DoomLoopThreshold == 0)
        {
            return calls;
        }

        // Allocated only when a call is held back: usually every call goes on.
        List<(FunctionCallContent Call, ToolPart Part)>? allowed = null;
        for (int i = 0; i < calls.Count; i++)
        {
            var (call, part) = calls[i];
            _repeats = _lastCall is { } last && SameCall(last, part) ? _repeats + 1 : 1;
            _lastCall = part;
            if (_repeats < _options.DoomLoopThreshold)
            {
                allowed?.Add((call, part));
                continue;
            }

            allowed ??= calls[..i];

            LogDoomLoop(SessionId, part.ToolName, _repeats);
            if (_options.DoomLoopRequiresApproval)
            {
                _repeatsNeedingApproval.Add(part.CallId);
                allowed.Add((call, part));
                continue;
            }

            string repeated = string.Create(CultureInfo.InvariantCulture, $"the model called {part.ToolName} with the same arguments {_repeats} times in a row");
            await FailToolAsync(_message, part, "not run: " + repeated).ConfigureAwait(false);
            _doomLoop = true;
            _limitError ??= new MessageError(MessageErrorKind.DoomLoop, "The turn stopped: " + repeated + ".");
        }

        return allowed ?? calls;
    }

    /// <summary>Whether two calls name the same tool with the same arguments (their JSON text, or the raw text the model sent).</summary>
    private static bool SameCall(ToolPart a, ToolPart b)
    {
        if (!string.Equals(a.ToolName, b.ToolName, StringComparison.Ordinal))
        {
            return false;
        }

        if (a.Arguments is { } left && b.Arguments is { } right)
        {
            return JsonMarshal.GetRawUtf8Value(left).SequenceEqual(JsonMarshal.GetRawUtf8Value(right));
        }

        return string.Equals(a.Arguments?.GetRawText() ?? a.RawArguments ?? "", b.Arguments?.GetRawText() ?? b.RawArguments ?? "", StringComparison.Ordinal);
    }

    /// <summary>Counts tool calls failing in a row (a success resets the count).</summary>
    private void CountToolOutcome(bool succeeded)
    {
        if (succeeded)
        {
            Interlocked.Exchange(ref _consecutiveToolErrors, 0);
        }
        else
        {
            Interlocked.Increment(ref _consecutiveToolErrors);
        }
    }

    /// <summary>After a step's tools: the exit reason when the turn must stop before the next model call, else null.</summary>
    private ExitReason? CheckAfterTools()
    {
        if (_doomLoop)
        {
            return ExitReason.DoomLoop;
        }

        if (_awaitingApproval)
        {
            return ExitReason.AwaitingApproval;
        }

        int errors = Volatile.Read(ref _consecutiveToolErrors);
        if (_options.MaxConsecutiveToolErrors > 0 && errors >= _options.MaxConsecutiveToolErrors)
        {
            _limitError = new MessageError(MessageErrorKind.ToolErrors, string.Create(CultureInfo.InvariantCulture,
                $"The turn stopped: {errors} tool calls in a row failed (MaxConsecutiveToolErrors is {_options.MaxConsecutiveToolErrors})."));
            return ExitReason.Error;
        }

        return null;
    }

    /// <summary>
    /// Waits for a tool call; once the turn is aborted, waits at most <see cref="AgentCoreOptions.AbortGracePeriod"/> more
    /// for the tool to stop, then gives up on it: the call ends as aborted and whatever it returns later is discarded.
    /// </summary>
    private async Task<T> WithAbortGraceAsync<T>(Task<T> work, CancellationToken token)
    {
        try
        {
            return await work.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Aborted (or the tool stopped for it): the grace period below returns or rethrows what the tool did, if it has.
            // (ToolInvoker turns any failure of a cancelled tool into an OperationCanceledException, so a TimeoutException
            // below is the grace period's own.)
        }

        try
        {
            return await work.WaitAsync(_options.AbortGracePeriod, _time, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            LogToolIgnoredAbort(SessionId, _options.AbortGracePeriod);
            _ = work.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw new OperationCanceledException("The tool did not stop within the abort grace period; its result is discarded.", null, token);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: a budget is spent; the turn stops")]
    private partial void LogBudgetExceeded(string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the model called {Tool} with the same arguments {Count} times in a row")]
    private partial void LogDoomLoop(string sessionId, string tool, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: a tool ignored the abort for {GracePeriod}; the call is closed as aborted and its result will be discarded")]
    private partial void LogToolIgnoredAbort(string sessionId, TimeSpan gracePeriod);
}
