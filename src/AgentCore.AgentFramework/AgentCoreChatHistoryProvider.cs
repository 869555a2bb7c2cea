using System.Globalization;
using System.Text.Json;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// A <see cref="ChatHistoryProvider"/> that keeps an Agent Framework agent's chat history (for example a
/// <c>ChatClientAgent</c>'s) in an AgentCore <see cref="ISessionStore"/>: each conversation is an AgentCore session, each
/// run's request and response messages are stored in it, and the next run loads them back.
/// </summary>
/// <remarks>
/// <para>The agent session's state holds only the AgentCore session id (under <see cref="StateKeys"/>), so the serialized
/// agent session stays small and a conversation resumes after a restart from the store. The AgentCore session is created
/// on the first stored run, with the default title; its messages are converted with
/// <see cref="SessionMessageConversion"/>, and the history provided is <see cref="SessionMessageConversion.ToPromptMessages"/>
/// of the stored messages (so a session summarized by AgentCore starts from its summary).</para>
/// <para>What stays the agent's, not AgentCore's: its tool loop, its system instructions, concurrency (two runs on
/// one session at once are not refused) and cost (chat messages carry no price). Stored token counts come only from
/// <see cref="UsageContent"/> left in the response messages; <c>ChatClientAgent</c> (Agent Framework 1.28.0) moves the
/// usage into <see cref="AgentResponse.Usage"/> and leaves none, so the session's token totals then stay zero.</para>
/// </remarks>
public sealed class AgentCoreChatHistoryProvider : ChatHistoryProvider
{
    private static readonly JsonSerializerOptions StateOptions = AgentFrameworkJsonContext.Default.Options;

    private readonly ISessionStore _store;
    private readonly TimeProvider _time;
    private readonly ProviderSessionState<ChatHistoryState> _state;

    /// <summary>Creates a provider over <paramref name="store"/>.</summary>
    /// <param name="store">The store (with <c>AddAgentCore</c>, the registered <see cref="ISessionStore"/>).</param>
    /// <param name="timeProvider">The clock for ids and times; null for <see cref="TimeProvider.System"/>.</param>
    /// <param name="stateKey">The key of the provider's state in the agent session's state bag; null for <c>AgentCoreChatHistoryProvider</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="store"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="stateKey"/> is empty or white space.</exception>
    public AgentCoreChatHistoryProvider(ISessionStore store, TimeProvider? timeProvider = null, string? stateKey = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (stateKey is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(stateKey);
        }

        _store = store;
        _time = timeProvider ?? TimeProvider.System;
        _state = new ProviderSessionState<ChatHistoryState>(static _ => new ChatHistoryState(), stateKey ?? nameof(AgentCoreChatHistoryProvider), StateOptions);
    }

    /// <inheritdoc />
    public override IReadOnlyList<string> StateKeys => [_state.StateKey];

    /// <summary>
    /// The AgentCore session id of <paramref name="session"/>'s history (a new id, kept in the session's state, when it has
    /// none yet): use it with <see cref="ISessionService"/> or <see cref="ISessionStore"/> to list, title or delete the conversation.
    /// </summary>
    /// <param name="session">The agent session.</param>
    /// <returns>The session id; the AgentCore session exists once a run has been stored.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="session"/> is null.</exception>
    public string GetSessionId(AgentSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return SessionIdOf(session);
    }

    /// <summary>Uses the existing AgentCore session <paramref name="sessionId"/> as the history of <paramref name="session"/>.</summary>
    /// <param name="session">The agent session.</param>
    /// <param name="sessionId">The AgentCore session id.</param>
    /// <exception cref="ArgumentNullException"><paramref name="session"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    public void SetSessionId(AgentSession session, string sessionId)
    {
        ArgumentNullException.ThrowIfNull(session);
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        _state.SaveState(session, new ChatHistoryState { SessionId = sessionId });
    }

    /// <inheritdoc />
    protected override async ValueTask<IEnumerable<ChatMessage>> ProvideChatHistoryAsync(InvokingContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Session is null)
        {
            return [];
        }

        var messages = await _store.GetMessagesAsync(SessionIdOf(context.Session), cancellationToken).ConfigureAwait(false);
        return messages.Count == 0 ? [] : messages.ToPromptMessages();
    }

    /// <inheritdoc />
    protected override async ValueTask StoreChatHistoryAsync(InvokedContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Session is null)
        {
            return;
        }

        string sessionId = SessionIdOf(context.Session);
        var toStore = context.RequestMessages.Concat(context.ResponseMessages ?? []).ToSessionMessages(sessionId, _time);
        if (toStore.Count == 0)
        {
            return;
        }

        var now = _time.GetUtcNow();
        var session = await _store.GetSessionAsync(sessionId, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            // The session record first, so no message is ever stored without its session.
            session = new SessionInfo
            {
                Id = sessionId,
                Title = SessionInfo.DefaultTitlePrefix + now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                CreatedAt = now,
                UpdatedAt = now,
            };
            await _store.SaveSessionAsync(session, cancellationToken).ConfigureAwait(false);
        }

        // Then the messages, then the totals (derived from them), as AgentCore's engine does.
        var tokens = session.Tokens;
        foreach (var message in toStore)
        {
            await _store.SaveMessageAsync(message, cancellationToken).ConfigureAwait(false);
            tokens += message.Tokens;
        }

        // No checkpoint: the totals no longer say which messages they include, so AgentCore's next turn recounts them
        // from the messages instead of adding these again.
        await _store.SaveSessionAsync(session with { UpdatedAt = now, Tokens = tokens, TotalsCheckpoint = null }, cancellationToken).ConfigureAwait(false);
    }

    private string SessionIdOf(AgentSession session)
    {
        var state = _state.GetOrInitializeState(session);
        if (state.SessionId is not { } sessionId)
        {
            sessionId = AgentCoreIds.NewSessionId();
            _state.SaveState(session, new ChatHistoryState { SessionId = sessionId });
        }
        else
        {
            // The state bag may come from an untrusted serialized session: the id is checked before it reaches the store.
            AgentCoreIds.ThrowIfInvalidSessionId(sessionId, nameof(session));
        }

        return sessionId;
    }
}
