using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>What to create a session with. Every member is optional.</summary>
public sealed record CreateSessionRequest
{
    /// <summary>A caller-chosen id (validated: <c>ses_</c> prefix, letters, digits, <c>_</c> and <c>-</c>); null for a new one.</summary>
    public string? Id { get; init; }

    /// <summary>The session this one continues or forks, if any.</summary>
    public string? ParentId { get; init; }

    /// <summary>A title; null for the default <c>New Session - &lt;ISO 8601 UTC time&gt;</c>.</summary>
    public string? Title { get; init; }

    /// <summary>Metadata to store with the session.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>One user turn: what the user says and how to answer it.</summary>
public sealed record ChatRequest
{
    /// <summary>The session to chat in.</summary>
    public required string SessionId { get; init; }

    /// <summary>The user's text. Either this or <see cref="Contents"/> (or both: the text comes first).</summary>
    public string? Text { get; init; }

    /// <summary>The user's content: text, files (<see cref="DataContent"/>, <see cref="UriContent"/>).</summary>
    public IList<AIContent>? Contents { get; init; }

    /// <summary>The model as <c>provider/model</c>; null for <see cref="AgentCoreOptions.DefaultModel"/>.</summary>
    public string? Model { get; init; }

    /// <summary>Options passed to the chat client (temperature and the like). Tools are set by the engine and added to these.</summary>
    public ChatOptions? Options { get; init; }
}

/// <summary>
/// The facade apps use: sessions, their messages, and turns of conversation with a model.
/// </summary>
public interface ISessionService
{
    /// <summary>Creates and persists a session.</summary>
    Task<SessionInfo> CreateAsync(CreateSessionRequest? request = null, CancellationToken cancellationToken = default);

    /// <summary>Reads a session.</summary>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    Task<SessionInfo> GetAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Lists sessions, newest first.</summary>
    IAsyncEnumerable<SessionInfo> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Changes a session: <paramref name="update"/> returns the new value; <see cref="SessionInfo.UpdatedAt"/> is bumped.</summary>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    Task<SessionInfo> UpdateAsync(string sessionId, Func<SessionInfo, SessionInfo> update, CancellationToken cancellationToken = default);

    /// <summary>Deletes a session and its messages. Returns false when there was none.</summary>
    Task<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Reads the messages of a session in creation order.</summary>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    Task<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Runs one turn and streams its events, ending with <see cref="TurnCompleted"/>.</summary>
    /// <exception cref="SessionBusyException">The session is running another turn (thrown at once).</exception>
    IAsyncEnumerable<SessionEvent> ChatStreamingAsync(ChatRequest request, CancellationToken cancellationToken = default);

    /// <summary>Runs one turn and returns the completed assistant message.</summary>
    /// <exception cref="SessionBusyException">The session is running another turn (thrown at once).</exception>
    Task<SessionMessage> ChatAsync(ChatRequest request, CancellationToken cancellationToken = default);

    /// <summary>Writes (or updates) the session's summary, so later prompts start from it.</summary>
    /// <returns>The summary message.</returns>
    Task<SessionMessage> SummarizeAsync(string sessionId, string? model = null, CancellationToken cancellationToken = default);

    /// <summary>Aborts the turn the session is running. Returns false when it runs none.</summary>
    bool Abort(string sessionId);
}
