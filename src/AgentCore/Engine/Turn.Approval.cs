using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>
/// Durable tool approval in a turn: calls that need a person's approval are stored as
/// <see cref="ToolState.AwaitingApproval"/> instead of running, and the turn ends with
/// <see cref="ExitReason.AwaitingApproval"/>; the next turn applies the answers (or, for a plain message, rejects the
/// waiting calls) before it calls the model. See docs/approval-and-limits.md.
/// </summary>
internal sealed partial class Turn
{
    private HashSet<string>? _alwaysAllowed;
    private IReadOnlyList<IToolApprovalPolicy>? _policies;
    private bool _awaitingApproval;
    private (IReadOnlyList<AIFunction> Tools, int Count, Dictionary<string, AIFunction> ByName)? _stepTools;

    /// <summary>
    /// Stores the calls of <paramref name="calls"/> that need approval as <see cref="ToolState.AwaitingApproval"/>, raising
    /// <see cref="ToolApprovalRequested"/> for each, and returns the others, which run now.
    /// </summary>
    private async ValueTask<List<(FunctionCallContent Call, ToolPart Part)>> HoldForApprovalAsync(
        List<(FunctionCallContent Call, ToolPart Part)> calls, IReadOnlyDictionary<string, AIFunction> tools, CancellationToken token)
    {
        List<(FunctionCallContent Call, ToolPart Part)>? run = null;
        for (int i = 0; i < calls.Count; i++)
        {
            var (call, part) = calls[i];
            if (!await NeedsApprovalAsync(call, tools, token).ConfigureAwait(false))
            {
                run?.Add(calls[i]);
                continue;
            }

            run ??= calls[..i];
            _awaitingApproval = true;
            part.State = ToolState.AwaitingApproval;
            MarkChanged(part);
            LogAwaitingApproval(SessionId, part.ToolName, part.CallId);
            var snapshot = Snapshot(part);
            Emit(new ToolCallUpdated(SessionId, _message.Id, snapshot));
            Emit(new ToolApprovalRequested(SessionId, _message.Id, snapshot, ToolApproval.RequestFor(part)));
        }

        return run ?? calls;
    }

    /// <summary>Whether a call needs approval: a known tool with readable arguments that a rule or a policy picks, unless the session always allows it.</summary>
    private async ValueTask<bool> NeedsApprovalAsync(FunctionCallContent call, IReadOnlyDictionary<string, AIFunction> tools, CancellationToken token)
    {
        // An unknown tool or unreadable arguments never run: the model gets the error at once, nothing to approve.
        if (call.Exception is not null || !tools.TryGetValue(call.Name, out var tool))
        {
            return false;
        }

        if (_repeatsNeedingApproval.Contains(call.CallId))
        {
            return true;
        }

        _alwaysAllowed ??= ToolApproval.AlwaysAllowed(_setup.Session);
        if (_alwaysAllowed.Contains(call.Name))
        {
            return false;
        }

        if (tool.GetService<ApprovalRequiredAIFunction>() is not null || _options.ToolsRequiringApproval.Contains(call.Name))
        {
            return true;
        }

        _policies ??= _runtime.Services.GetServices<IToolApprovalPolicy>().ToList();
        foreach (var policy in _policies)
        {
            if (await policy.RequiresApprovalAsync(new ToolApprovalContext(_setup.Session, call, tool), token).ConfigureAwait(false))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Before the first step: runs the approved calls the request answered and gives the rejected ones (and, for a plain
    /// message, every waiting one) a refusal result, in the messages that asked for them, so the prompt answers every call.
    /// </summary>
    private async Task ResolveApprovalsAsync(CancellationToken token)
    {
        if (_setup.Approvals is not { Count: > 0 } approvals)
        {
            return;
        }

        Dictionary<string, AIFunction>? tools = null;
        foreach (var (owner, part, response) in approvals)
        {
            var now = _time.GetUtcNow();
            if (response is { Approved: true })
            {
                part.Approval = new ToolApprovalDecision { Approved = true, Reason = response.Reason, AnsweredAt = now };
                if (tools is null)
                {
                    tools = ToolsByName(await RegistryToolsAsync(token).ConfigureAwait(false));
                }

                var call = new FunctionCallContent(part.CallId, part.ToolName, PromptConversion.ArgumentsOf(part));
                try
                {
                    await RunToolAsync(owner, call, part, tools, token).ConfigureAwait(false);
                }
                catch (Exception) when (token.IsCancellationRequested)
                {
                    // The owner is a completed message the turn's finish does not revisit: close the call here.
                    await FailToolAsync(owner, part, "aborted").ConfigureAwait(false);
                    throw;
                }
            }
            else
            {
                part.Approval = response is null ? null : new ToolApprovalDecision { Approved = false, Reason = response.Reason, AnsweredAt = now };
                part.StartedAt ??= now;
                await FailToolAsync(owner, part, response is null
                    ? ToolApproval.MovedOn
                    : "not run: the user rejected this call" + (string.IsNullOrWhiteSpace(response.Reason) ? "." : ": " + response.Reason)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// <see cref="ToolsByName"/> of a step's registry tools; the registry returns the very same list while its tools are
    /// unchanged, and then the previous step's dictionary is reused.
    /// </summary>
    private Dictionary<string, AIFunction> StepToolsByName(IReadOnlyList<AIFunction> registryTools)
    {
        if (_stepTools is not { } cached || !ReferenceEquals(cached.Tools, registryTools) || cached.Count != registryTools.Count)
        {
            cached = (registryTools, registryTools.Count, ToolsByName(registryTools));
            _stepTools = cached;
        }

        return cached.ByName;
    }

    /// <summary>The tools a call may run: the registry's, then the AIFunctions the caller put in ChatRequest.Options (the model was offered both).</summary>
    private Dictionary<string, AIFunction> ToolsByName(IEnumerable<AIFunction> registryTools)
    {
        var tools = new Dictionary<string, AIFunction>(StringComparer.Ordinal);
        foreach (var tool in registryTools.Concat(_setup.Options?.Tools?.OfType<AIFunction>() ?? []))
        {
            tools.TryAdd(tool.Name, tool);
        }

        return tools;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: tool {Tool} (call {CallId}) waits for approval")]
    private partial void LogAwaitingApproval(string sessionId, string tool, string callId);
}
