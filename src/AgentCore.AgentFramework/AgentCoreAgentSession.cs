using Microsoft.Agents.AI;

namespace AgentCore;

/// <summary>
/// The <see cref="AgentSession"/> of an <see cref="AgentCoreAgent"/>: a reference to one AgentCore session, whose
/// messages, title and totals live in AgentCore's <see cref="ISessionStore"/>.
/// </summary>
/// <remarks>
/// Nothing of the conversation is held here: <see cref="AIAgent.SerializeSessionAsync"/> writes
/// <c>{"sessionId":"ses_…"}</c> (plus the <see cref="AgentSession.StateBag"/> when it holds anything), and
/// <see cref="AIAgent.DeserializeSessionAsync"/> on any <see cref="AgentCoreAgent"/> over the same store, in this
/// process or after a restart, continues the same session.
/// </remarks>
public sealed class AgentCoreAgentSession : AgentSession
{
    internal AgentCoreAgentSession(string sessionId, AgentSessionStateBag? stateBag = null)
        : base(stateBag ?? new AgentSessionStateBag())
    {
        SessionId = sessionId;
    }

    /// <summary>The AgentCore session id (<c>ses_…</c>): use it with <see cref="ISessionService"/> for the title, totals and messages.</summary>
    public string SessionId { get; }
}
