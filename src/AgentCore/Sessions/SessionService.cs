using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentCore;

/// <summary>
/// The default <see cref="ISessionService"/>: sessions over an <see cref="ISessionStore"/>, and turns run by
/// <see cref="Turn"/> under the session's busy lock. What it shares with the engine (services, session updates, crash
/// recovery, the usage history, the lifetime of turns) is its <see cref="SessionRuntime"/>.
/// </summary>
/// <remarks>
/// Disposing it (the container does, before the store, lock and usage history it was built with) aborts the turns and
/// summaries running, waits until each has persisted its message and released its lock, then cancels and awaits the
/// background title generation. A caller streaming a turn sees it end with <see cref="TurnCompleted"/> and exit reason
/// <c>aborted</c>; a turn or summary started after disposal throws <see cref="ObjectDisposedException"/>.
/// </remarks>
internal sealed partial class SessionService : ISessionService, IAsyncDisposable, IDisposable
{
    private readonly SessionRuntime _runtime;
    private readonly ILogger _logger;

    public SessionService(
        ISessionStore store,
        IModelProvider models,
        IToolRegistry tools,
        ISessionHistory history,
        ISessionLockProvider locks,
        SessionEventHub events,
        IOptions<AgentCoreOptions> options,
        TimeProvider time,
        IServiceProvider services,
        IEnumerable<ISystemPromptProvider> systemPrompt,
        AgentCoreInstrumentation telemetry,
        ILoggerFactory? loggerFactory = null)
    {
        loggerFactory ??= NullLoggerFactory.Instance;
        _runtime = new SessionRuntime(
            store, models, tools, history, locks, events, options.Value, time, services, systemPrompt.ToList(), telemetry, loggerFactory);
        _logger = loggerFactory.CreateLogger<SessionService>();
    }

    private ISessionStore Store => _runtime.Store;

    private SessionEventHub Events => _runtime.Events;

    private ISessionLockProvider Locks => _runtime.Locks;

    private TimeProvider Time => _runtime.Time;

    /// <inheritdoc />
    public async Task<SessionInfo> CreateAsync(CreateSessionRequest? request = null, CancellationToken cancellationToken = default)
    {
        request ??= new CreateSessionRequest();
        string id = request.Id is null ? Identifier.Create(IdKind.Session, Time) : Identifier.Validate(request.Id, IdKind.Session, nameof(request));
        if (request.ParentId is not null)
        {
            Identifier.Validate(request.ParentId, IdKind.Session, nameof(request));
            _ = await Store.GetSessionAsync(request.ParentId, cancellationToken).ConfigureAwait(false)
                ?? throw new SessionNotFoundException(request.ParentId);
        }

        var now = Time.GetUtcNow();
        var session = new SessionInfo
        {
            Id = id,
            ParentId = request.ParentId,
            Title = string.IsNullOrWhiteSpace(request.Title) ? DefaultTitle(now) : request.Title,
            CreatedAt = now,
            UpdatedAt = now,
            TotalsCheckpoint = SessionTotalsCheckpoint.Empty,
            Metadata = request.Metadata is null ? SessionInfo.EmptyMetadata : new Dictionary<string, string>(request.Metadata, StringComparer.Ordinal),
        };

        var gate = _runtime.GateOf(id);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (request.Id is not null && await Store.GetSessionAsync(id, cancellationToken).ConfigureAwait(false) is not null)
            {
                throw new ArgumentException($"A session with id '{id}' already exists.", nameof(request));
            }

            await Store.SaveSessionAsync(session, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }

        await Events.PublishAsync(new SessionCreated(id, session)).ConfigureAwait(false);
        return session;
    }

    /// <summary>The title of a new session: <c>New Session - </c> and the UTC time in ISO 8601.</summary>
    internal static string DefaultTitle(DateTimeOffset now) =>
        SessionInfo.DefaultTitlePrefix + now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public async Task<SessionInfo> GetAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        return await Store.GetSessionAsync(sessionId, cancellationToken).ConfigureAwait(false)
               ?? throw new SessionNotFoundException(sessionId);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<SessionInfo> ListAsync(CancellationToken cancellationToken = default) =>
        Store.ListSessionsAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<SessionPage> ListAsync(SessionQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return await Store.ListSessionsAsync(query, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<SessionInfo> UpdateAsync(string sessionId, Func<SessionInfo, SessionInfo> update, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        ArgumentNullException.ThrowIfNull(update);
        var updated = await _runtime.ChangeSessionAsync(sessionId, current =>
        {
            var changed = update(current) ?? throw new InvalidOperationException("The update function returned null.");
            if (changed.Id != current.Id || changed.CreatedAt != current.CreatedAt)
            {
                throw new InvalidOperationException($"An update may not change the id or creation time of session '{sessionId}'.");
            }

            return changed with { Metadata = changed.Metadata ?? SessionInfo.EmptyMetadata };
        }, cancellationToken).ConfigureAwait(false);
        return updated ?? throw new SessionNotFoundException(sessionId);
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        var lease = await Locks.TryAcquireAsync(sessionId, cancellationToken).ConfigureAwait(false)
                    ?? throw new SessionBusyException(sessionId);
        await using var leaseScope = lease.ConfigureAwait(false);
        bool deleted = await Store.DeleteSessionAsync(sessionId, cancellationToken).ConfigureAwait(false);
        if (deleted)
        {
            await Events.PublishHoldingLockAsync(new SessionDeleted(sessionId)).ConfigureAwait(false);
        }

        return deleted;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var session = await GetAsync(sessionId, cancellationToken).ConfigureAwait(false);
        return SessionRuntime.InConversation(session, await Store.GetMessagesAsync(sessionId, cancellationToken).ConfigureAwait(false));
    }

    /// <inheritdoc />
    /// <remarks>
    /// The lock provider's <see cref="ISessionLockProvider.RequestAbortAsync"/> completes at once for a holder in this
    /// process and for the in-process and file locks; only a request that must go over the network (PostgreSQL) blocks the
    /// calling thread until it is answered. AgentCore's providers never resume on the caller's synchronization context, so
    /// the wait cannot deadlock; <see cref="AbortAsync"/> does not block at all.
    /// </remarks>
    public bool Abort(string sessionId)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        var pending = Locks.RequestAbortAsync(sessionId, CancellationToken.None);
        if (pending.IsCompleted)
        {
            return pending.GetAwaiter().GetResult();
        }

        return pending.AsTask().GetAwaiter().GetResult();
    }

    /// <inheritdoc />
    public ValueTask<bool> AbortAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        return Locks.RequestAbortAsync(sessionId, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<SessionMessage> ChatAsync(ChatRequest request, CancellationToken cancellationToken = default)
    {
        SessionMessage? completed = null;
        // The same turn, but its stream carries only TurnCompleted: the other events still go to subscribers, and the
        // caller is not woken for each of them.
        await foreach (var sessionEvent in StartTurn(request, completionOnly: true, cancellationToken).ConfigureAwait(false))
        {
            if (sessionEvent is TurnCompleted turn)
            {
                completed = turn.Message;
            }
        }

        return completed ?? throw new InvalidOperationException("The turn ended without completing its message.");
    }

    /// <inheritdoc />
    public IAsyncEnumerable<SessionEvent> ChatStreamingAsync(ChatRequest request, CancellationToken cancellationToken = default) =>
        StartTurn(request, completionOnly: false, cancellationToken);

    /// <summary>Validates the request and starts its turn; with <paramref name="completionOnly"/> the stream carries only <see cref="TurnCompleted"/>.</summary>
    private IAsyncEnumerable<SessionEvent> StartTurn(ChatRequest request, bool completionOnly, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Identifier.Validate(request.SessionId, IdKind.Session, nameof(request));
        if (request.Model is not null)
        {
            ModelProvider.ParseReference(request.Model, nameof(request));
        }

        if (request.Budget is { } budget && (budget.MaxCostPerTurn <= 0 || budget.MaxCostPerSession <= 0 || budget.MaxTokensPerTurn <= 0))
        {
            throw new ArgumentException($"Every budget in ChatRequest.Budget must be above 0 when set: {budget}.", nameof(request));
        }

        var answers = request.Contents?.OfType<ToolApprovalResponseContent>().ToList() ?? [];
        var userParts = PromptConversion.ToParts(request.Text, answers.Count == 0 ? request.Contents : request.Contents!.Where(static c => c is not ToolApprovalResponseContent), Time);
        if (answers.Count > 0 && userParts.Count > 0)
        {
            throw new ArgumentException("A request that answers approval requests (ToolApprovalResponseContent) may hold nothing else: send text in a request of its own.", nameof(request));
        }

        if (userParts.Count == 0 && answers.Count == 0)
        {
            throw new ArgumentException("The request has no content: set Text or Contents.", nameof(request));
        }

        return Turn.RunStreamingAsync(_runtime, request, userParts, answers, completionOnly, cancellationToken);
    }

    /// <inheritdoc />
    public Task<SessionMessage> SummarizeAsync(string sessionId, string? model = null, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        if (model is not null)
        {
            ModelProvider.ParseReference(model, nameof(model));
        }

        return SummarizeLockedAsync(sessionId, model, cancellationToken);
    }

    private async Task<SessionMessage> SummarizeLockedAsync(string sessionId, string? model, CancellationToken cancellationToken)
    {
        _runtime.EnterOperation();
        try
        {
            return await SummarizeCoreAsync(sessionId, model, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_runtime.IsStopping && !cancellationToken.IsCancellationRequested)
        {
            throw SessionRuntime.Disposed();
        }
        finally
        {
            _runtime.ExitOperation();
        }
    }

    private async Task<SessionMessage> SummarizeCoreAsync(string sessionId, string? model, CancellationToken cancellationToken)
    {
        var lease = await Locks.TryAcquireAsync(sessionId, cancellationToken).ConfigureAwait(false)
                    ?? throw new SessionBusyException(sessionId);
        await using var leaseScope = lease.ConfigureAwait(false);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.AbortRequested, _runtime.Stopping);
        var resolved = await _runtime.ResolveModelAsync(model, linked.Token).ConfigureAwait(false);
        var (session, messages, _) = await _runtime.LoadForTurnAsync(lease, linked.Token).ConfigureAwait(false);
        await using var attachment = (await Events.AttachAsync(sessionId, turnStream: null, linked.Token).ConfigureAwait(false)).ConfigureAwait(false);
        var compaction = new Compaction(_runtime, _runtime.LoggerFactory.CreateLogger<Compaction>());
        var summary = await compaction.CompactAsync(session, resolved, messages, keepFromId: null, e => Events.Publish(e), linked.Token).ConfigureAwait(false)
                      ?? throw new InvalidOperationException($"Session '{sessionId}' has nothing to summarize since its last summary.");
        await _runtime.ReconcileTotalsAsync(sessionId, [.. messages, summary]).ConfigureAwait(false);
        return summary;
    }

    /// <summary>A task that completes when the background work running now (titles) has finished (for tests and shutdown).</summary>
    internal Task BackgroundIdle() => _runtime.BackgroundIdle();

    /// <summary>
    /// Aborts the running turns and summaries and waits until each has persisted its message and released its lock,
    /// then cancels background work (titles) and waits for it. Safe to call more than once.
    /// </summary>
    public ValueTask DisposeAsync() => _runtime.DisposeAsync();

    /// <summary>
    /// The same as <see cref="DisposeAsync"/>, for a container disposed synchronously: blocks until the turns have
    /// ended, without resuming on the caller's synchronization context (see <see cref="SynchronousDisposal"/>).
    /// </summary>
    public void Dispose() => SynchronousDisposal.Run(DisposeAsync);
}
