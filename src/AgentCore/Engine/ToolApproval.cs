using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>A tool call waiting for approval, in the message that asked for it, and the answer to apply (null: the user moved on).</summary>
/// <param name="Message">The assistant message holding the call.</param>
/// <param name="Part">The call's part, in <see cref="ToolState.AwaitingApproval"/>.</param>
/// <param name="Response">The answer; null when the user sent a new message instead of answering.</param>
internal sealed record PendingApproval(SessionMessage Message, ToolPart Part, ToolApprovalResponseContent? Response);

/// <summary>
/// The rules of durable tool approval that do not need a running turn: which stored calls wait for an answer, the
/// approval request of a stored call, matching a request's answers to the calls (with the errors for bad answers),
/// and the tools a session always allows.
/// </summary>
internal static class ToolApproval
{
    /// <summary>What the model sees for a call the user did not answer because they sent a new message.</summary>
    public const string MovedOn = "not run: the user sent a new message instead of approving this call";

    /// <summary>The separator of tool names in <see cref="SessionServiceApprovalExtensions.AlwaysAllowMetadataKey"/> (never part of a tool name).</summary>
    public const char AllowListSeparator = ',';

    /// <summary>The calls of <paramref name="messages"/> still waiting for approval, oldest first.</summary>
    public static IEnumerable<(SessionMessage Message, ToolPart Part)> Pending(IEnumerable<SessionMessage> messages) =>
        from message in messages
        where message.Role == ChatRole.Assistant
        from part in message.Parts.OfType<ToolPart>()
        where part.State == ToolState.AwaitingApproval
        select (message, part);

    /// <summary>
    /// The call inside an approval request a <c>FunctionInvokingChatClient</c> in the provider's pipeline streamed (it
    /// turns a call of an <see cref="ApprovalRequiredAIFunction"/> into one): AgentCore asks for approval itself, so the
    /// call is handled as the model made it. Any other content is returned as it is.
    /// </summary>
    public static AIContent CallOf(AIContent content) =>
        content is ToolApprovalRequestContent { ToolCall: FunctionCallContent call } ? call : content;

    /// <summary>The approval request of a stored call: its request id is the call id.</summary>
    public static ToolApprovalRequestContent RequestFor(ToolPart part) =>
        new(part.CallId, new FunctionCallContent(part.CallId, part.ToolName, PromptConversion.ArgumentsOf(part)));

    /// <summary>The tools <paramref name="session"/> always allows without asking.</summary>
    public static HashSet<string> AlwaysAllowed(SessionInfo session)
    {
        var allowed = new HashSet<string>(StringComparer.Ordinal);
        if (session.Metadata.TryGetValue(SessionServiceApprovalExtensions.AlwaysAllowMetadataKey, out var list))
        {
            allowed.UnionWith(list.Split(AllowListSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        return allowed;
    }

    /// <summary>
    /// Matches a turn's input to the calls waiting in <paramref name="messages"/>: with <paramref name="responses"/>, every
    /// waiting call must be answered exactly once; without, every waiting call is rejected as "the user moved on".
    /// Checks everything before anything changes. Only the messages from <paramref name="scanFrom"/> on are searched for
    /// waiting calls (a conversation known to have none before).
    /// </summary>
    /// <exception cref="ArgumentException">An answer names an unknown or already answered call, answers one twice, leaves one unanswered, or there is nothing to answer.</exception>
    public static List<PendingApproval> Match(string sessionId, IReadOnlyList<SessionMessage> messages, IReadOnlyList<ToolApprovalResponseContent> responses, string paramName, int scanFrom = 0)
    {
        var pending = Pending(messages.Skip(Math.Max(0, scanFrom))).ToList();
        if (responses.Count == 0)
        {
            return pending.Select(static p => new PendingApproval(p.Message, p.Part, null)).ToList();
        }

        if (pending.Count == 0)
        {
            throw new ArgumentException($"Session '{sessionId}' has no tool calls waiting for approval: there is nothing to answer.", paramName);
        }

        var answers = new Dictionary<string, ToolApprovalResponseContent>(StringComparer.Ordinal);
        foreach (var response in responses)
        {
            string callId = response.RequestId;
            if (!answers.TryAdd(callId, response))
            {
                throw new ArgumentException($"The request answers tool call '{callId}' more than once.", paramName);
            }

            if (pending.All(p => p.Part.CallId != callId))
            {
                bool known = messages.SelectMany(static m => m.Parts).OfType<ToolPart>().Any(t => t.CallId == callId);
                throw new ArgumentException(
                    known
                        ? $"Tool call '{callId}' in session '{sessionId}' is not waiting for approval: it was answered already."
                        : $"Session '{sessionId}' has no tool call '{callId}' waiting for approval. Waiting: {string.Join(", ", pending.Select(static p => p.Part.CallId))}.",
                    paramName);
            }
        }

        var unanswered = pending.Where(p => !answers.ContainsKey(p.Part.CallId)).Select(static p => p.Part.CallId).ToList();
        if (unanswered.Count > 0)
        {
            throw new ArgumentException(
                $"Session '{sessionId}' has {pending.Count} tool calls waiting for approval; answer all of them in one request (unanswered: {string.Join(", ", unanswered)}).",
                paramName);
        }

        return pending.Select(p => new PendingApproval(p.Message, p.Part, answers[p.Part.CallId])).ToList();
    }
}
