using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>Tool approval on an <see cref="ISessionService"/>: the calls a session waits on, and tools it always allows.</summary>
public static class SessionServiceApprovalExtensions
{
    /// <summary>
    /// The <see cref="SessionInfo.Metadata"/> key listing the tools a session runs without asking, comma-separated
    /// (tool names never hold a comma). Set by <see cref="AlwaysAllowToolAsync"/>; an app may also set it when it creates the session.
    /// </summary>
    public const string AlwaysAllowMetadataKey = "agentcore.approval.always-allow";

    /// <summary>
    /// Reads the tool calls of a session that wait for a person's approval, oldest first — after a restart or in
    /// another process too, since they are read from the store. Answer them all in one request:
    /// <c>ChatStreamingAsync(new ChatRequest { SessionId = ..., Contents = [.. requests.Select(r =&gt; r.CreateResponse(approved, reason))] })</c>.
    /// </summary>
    /// <param name="sessions">The session service.</param>
    /// <param name="sessionId">The session.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One request per waiting call; its <see cref="InputRequestContent.RequestId"/> is the call id. Empty when nothing waits.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sessions"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    public static async Task<IReadOnlyList<ToolApprovalRequestContent>> GetPendingApprovalsAsync(
        this ISessionService sessions, string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        var messages = await sessions.GetMessagesAsync(sessionId, cancellationToken).ConfigureAwait(false);
        return ToolApproval.Pending(messages).Select(static p => ToolApproval.RequestFor(p.Part)).ToList();
    }

    /// <summary>
    /// Remembers with the session that calls of <paramref name="toolName"/> run without asking for approval from the next
    /// call on (stored in <see cref="SessionInfo.Metadata"/> under <see cref="AlwaysAllowMetadataKey"/>). Calls already
    /// waiting still need their answer.
    /// </summary>
    /// <param name="sessions">The session service.</param>
    /// <param name="sessionId">The session.</param>
    /// <param name="toolName">The tool's name, as the model sees it.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    /// <returns>The updated session.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sessions"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id, or <paramref name="toolName"/> is null or not a valid tool name.</exception>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    public static Task<SessionInfo> AlwaysAllowToolAsync(this ISessionService sessions, string sessionId, string toolName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        ToolNames.Validate(toolName, nameof(toolName));
        return sessions.UpdateAsync(sessionId, session =>
        {
            var allowed = ToolApproval.AlwaysAllowed(session);
            if (!allowed.Add(toolName))
            {
                return session;
            }

            var metadata = new Dictionary<string, string>(session.Metadata, StringComparer.Ordinal)
            {
                [AlwaysAllowMetadataKey] = string.Join(ToolApproval.AllowListSeparator, allowed.Order(StringComparer.Ordinal)),
            };
            return session with { Metadata = metadata };
        }, cancellationToken);
    }
}
