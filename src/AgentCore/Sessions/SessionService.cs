using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentCore;

/// <summary>
/// The default <see cref="ISessionService"/>: sessions over an <see cref="ISessionStore"/>, and turns run by
/// <see cref="Turn"/> under the session's busy lock.
/// </summary>
/// <remarks>
/// Disposing it (the container does, before the store, lock and history it was built with) aborts the turns and
/// summaries running, waits until each has persisted its message and released its lock, then cancels and awaits the
/// background title generation. A caller streaming a turn sees it end with <see cref="TurnCompleted"/> and exit reason
/// <c>aborted</c>; a turn or summary started after disposal throws <see cref="ObjectDisposedException"/>.
/// </remarks>
internal sealed partial class SessionService : ISessionService, IAsyncDisposable, IDisposable
{
    // Read-modify-write of a session (renames, totals, titles) goes through one of these, chosen by the id's hash.
    private readonly SemaphoreSlim[] _sessionGates = Enumerable.Range(0, 64).Select(static _ => new SemaphoreSlim(1, 1)).ToArray();
    private readonly ISessionLockProvider _locks;
    private readonly ISessionHistory _history;
    private readonly IModelProvider _models;
    private readonly AgentCoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly IReadOnlyList<ISystemPromptProvider> _systemPrompt;
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<Task> _background = [];
    private readonly Lock _operationsGate = new();
    private int _operations;
    private bool _disposed;
    private TaskCompletionSource? _operationsIdle;

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
        Telemetry = telemetry;
        _systemPrompt = systemPrompt.ToList();
        Store = store;
        _models = models;
        Tools = tools;
        _history = history;
        _locks = locks;
        Events = events;
        _options = options.Value;
        _time = time;
        Services = services;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<SessionService>();
    }

    internal ISessionStore Store { get; }

    internal IToolRegistry Tools { get; }

    internal SessionEventHub Events { get; }

    internal IServiceProvider Services { get; }

    /// <summary>Where the engine's spans and metrics go (see <see cref="AgentCoreInstrumentation"/>).</summary>
    internal AgentCoreInstrumentation Telemetry { get; }

    internal AgentCoreOptions Options => _options;

    internal TimeProvider Time => _time;

    /// <summary>
    /// A usage-history entry of this service's agent and project, stamped now: a start entry, or with
    /// <paramref name="exitReason"/> an end entry with its usage, duration, cost and counts. Every entry AgentCore writes is made here.
    /// </summary>
    internal SessionHistoryEntry HistoryEntry(
        string sessionId, string providerId, string modelId, ExitReason? exitReason = null,
        HistoryUsage? usage = null, HistoryDuration? duration = null, decimal cost = 0m, int messageCount = 0, int toolCallCount = 0) => new()
    {
        AgentId = _options.AgentId,
        SessionId = sessionId,
        Timestamp = _time.GetUtcNow().ToUnixTimeMilliseconds(),
        Project = _options.Project ?? Environment.CurrentDirectory,
        Model = modelId,
        Provider = providerId,
        Usage = usage ?? new HistoryUsage(),
        Duration = duration ?? new HistoryDuration(),
        Cost = new HistoryCost { Type = HistoryCost.Byok, UsdByok = cost },
        MessageCount = exitReason is null ? null : messageCount,
        ToolCallCount = exitReason is null ? null : toolCallCount,
        ExitReason = exitReason?.Value,
    };

    /// <summary>A usage-history entry of a model call outside a turn (a title): a start, or an end with its usage, cost and exit reason <c>completed</c>.</summary>
    internal SessionHistoryEntry HistoryEntryOf(string sessionId, ModelInfo model, SessionStats stats, decimal cost, bool end) => end
        ? HistoryEntry(sessionId, model.ProviderId, model.ModelId, ExitReason.Completed, stats.ToHistoryUsage(), stats.ToHistoryDuration(), cost)
        : HistoryEntry(sessionId, model.ProviderId, model.ModelId);

    /// <inheritdoc />
    public async Task<SessionInfo> CreateAsync(CreateSessionRequest? request = null, CancellationToken cancellationToken = default)
    {
        request ??= new CreateSessionRequest();
        string id = request.Id is null ? Identifier.Create(IdKind.Session, _time) : Identifier.Validate(request.Id, IdKind.Session, nameof(request));
        if (request.ParentId is not null)
        {
            Identifier.Validate(request.ParentId, IdKind.Session, nameof(request));
            _ = await Store.GetSessionAsync(request.ParentId, cancellationToken).ConfigureAwait(false)
                ?? throw new SessionNotFoundException(request.ParentId);
        }

        var now = _time.GetUtcNow();
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

        var gate = GateOf(id);
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

        Events.Publish(new SessionCreated(id, session));
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
        var updated = await ChangeSessionAsync(sessionId, current =>
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
        await using var lease = await _locks.TryAcquireAsync(sessionId, cancellationToken).ConfigureAwait(false)
                                ?? throw new SessionBusyException(sessionId);
        bool deleted = await Store.DeleteSessionAsync(sessionId, cancellationToken).ConfigureAwait(false);
        if (deleted)
        {
            Events.Publish(new SessionDeleted(sessionId));
        }

        return deleted;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var session = await GetAsync(sessionId, cancellationToken).ConfigureAwait(false);
        return InConversation(session, await Store.GetMessagesAsync(sessionId, cancellationToken).ConfigureAwait(false));
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
        var pending = _locks.RequestAbortAsync(sessionId, CancellationToken.None);
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
        return _locks.RequestAbortAsync(sessionId, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<SessionMessage> ChatAsync(ChatRequest request, CancellationToken cancellationToken = default)
    {
        SessionMessage? completed = null;
        await foreach (var sessionEvent in ChatStreamingAsync(request, cancellationToken).ConfigureAwait(false))
        {
            if (sessionEvent is TurnCompleted turn)
            {
                completed = turn.Message;
            }
        }

        return completed ?? throw new InvalidOperationException("The turn ended without completing its message.");
    }

    /// <inheritdoc />
    public IAsyncEnumerable<SessionEvent> ChatStreamingAsync(ChatRequest request, CancellationToken cancellationToken = default)
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
        var userParts = PromptConversion.ToParts(request.Text, answers.Count == 0 ? request.Contents : request.Contents!.Where(static c => c is not ToolApprovalResponseContent), _time);
        if (answers.Count > 0 && userParts.Count > 0)
        {
            throw new ArgumentException("A request that answers approval requests (ToolApprovalResponseContent) may hold nothing else: send text in a request of its own.", nameof(request));
        }

        if (userParts.Count == 0 && answers.Count == 0)
        {
            throw new ArgumentException("The request has no content: set Text or Contents.", nameof(request));
        }

        return RunTurnAsync(request, userParts, answers, cancellationToken);
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
        EnterOperation();
        try
        {
            return await SummarizeCoreAsync(sessionId, model, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw Disposed();
        }
        finally
        {
            ExitOperation();
        }
    }

    private async Task<SessionMessage> SummarizeCoreAsync(string sessionId, string? model, CancellationToken cancellationToken)
    {
        await using var lease = await _locks.TryAcquireAsync(sessionId, cancellationToken).ConfigureAwait(false)
                                ?? throw new SessionBusyException(sessionId);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.AbortRequested, _stopping.Token);
        var resolved = await ResolveModelAsync(model, linked.Token).ConfigureAwait(false);
        var (session, messages) = await LoadForTurnAsync(lease, linked.Token).ConfigureAwait(false);
        await using var attachment = (await Events.AttachAsync(sessionId, turnStream: null, linked.Token).ConfigureAwait(false)).ConfigureAwait(false);
        var compaction = new Compaction(this, _options, _time, _loggerFactory.CreateLogger<Compaction>());
        var summary = await compaction.CompactAsync(session, resolved, messages, keepFromId: null, e => Events.Publish(e), linked.Token).ConfigureAwait(false)
                      ?? throw new InvalidOperationException($"Session '{sessionId}' has nothing to summarize since its last summary.");
        await ReconcileTotalsAsync(sessionId, [.. messages, summary]).ConfigureAwait(false);
        return summary;
    }

    private async IAsyncEnumerable<SessionEvent> RunTurnAsync(
        ChatRequest request, List<MessagePart> userParts, List<ToolApprovalResponseContent> answers, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string sessionId = request.SessionId;
        EnterOperation();
        ISessionLease lease;
        TurnSetup setup;
        try
        {
            // Until the turn runs, disposing the service cancels the start as well.
            using var starting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            lease = await _locks.TryAcquireAsync(sessionId, starting.Token).ConfigureAwait(false)
                    ?? throw new SessionBusyException(sessionId);
            try
            {
                setup = await PrepareAsync(lease, request, userParts, answers, starting.Token).ConfigureAwait(false);
            }
            catch
            {
                await lease.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            ExitOperation();
            throw Disposed();
        }
        catch
        {
            ExitOperation();
            throw;
        }

        var turnCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.AbortRequested, _stopping.Token);
        var channel = Channel.CreateUnbounded<SessionEvent>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
        var turn = new Turn(this, setup, _options, _time, _loggerFactory.CreateLogger<Turn>());

        // The lock is released by the task that runs the turn, so disposing the service can wait for the whole turn
        // (message persisted, lock released) whether or not the caller still reads the stream.
        var running = Task.Run(
            async () =>
            {
                // The turn's stream gets every event of the session while the turn runs (a title's too), so it has no gaps.
                var attachment = await Events.AttachAsync(sessionId, channel.Writer, CancellationToken.None).ConfigureAwait(false);
                try
                {
                    return await turn.RunAsync(channel.Writer, cancellationToken, turnCancellation.Token).ConfigureAwait(false);
                }
                finally
                {
                    try
                    {
                        await attachment.DisposeAsync().ConfigureAwait(false);
                        await lease.DisposeAsync().ConfigureAwait(false);
                    }
                    finally
                    {
                        ExitOperation();
                    }
                }
            },
            CancellationToken.None);
        TurnOutcome outcome;
        try
        {
            while (await channel.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var sessionEvent))
                {
                    yield return sessionEvent;
                }
            }
        }
        finally
        {
            if (!running.IsCompleted)
            {
                // The caller stopped listening before the turn ended: abort it.
                await turnCancellation.CancelAsync().ConfigureAwait(false);
            }

            outcome = await running.ConfigureAwait(false);
            turnCancellation.Dispose();
        }

        if (outcome.Failure is { } failure)
        {
            ExceptionDispatchInfo.Throw(failure);
        }
    }

    /// <summary>Everything before the turn's first write: the session, the model, the history and the prompt.</summary>
    private async Task<TurnSetup> PrepareAsync(ISessionLease lease, ChatRequest request, List<MessagePart> userParts, List<ToolApprovalResponseContent> answers, CancellationToken cancellationToken)
    {
        var model = await ResolveModelAsync(request.Model, cancellationToken).ConfigureAwait(false);
        var (session, messages) = await LoadForTurnAsync(lease, cancellationToken).ConfigureAwait(false);
        var approvals = ToolApproval.Match(session.Id, messages, answers, nameof(request));
        var context = new SystemPromptContext(session, model.Info);
        var sections = new List<string>(_systemPrompt.Count);
        foreach (var provider in _systemPrompt)
        {
            if (await provider.GetSectionAsync(context, cancellationToken).ConfigureAwait(false) is { Length: > 0 } section)
            {
                sections.Add(section);
            }
        }

        return new TurnSetup(session, model, userParts, messages, sections, request.Options, approvals, request.Budget);
    }

    /// <summary>Starts naming a session in the background (see <see cref="TitleGenerator"/>).</summary>
    internal void StartTitleGeneration(string sessionId, ResolvedModel turnModel, IReadOnlyList<MessagePart> userParts)
    {
        var logger = _loggerFactory.CreateLogger(typeof(TitleGenerator));
        RunInBackground(async token =>
        {
            ResolvedModel model = turnModel;
            if (_options.TitleModel is { } reference)
            {
                try
                {
                    model = await ResolveModelAsync(reference, token).ConfigureAwait(false);
                }
                catch (ModelNotFoundException ex)
                {
                    LogTitleModelMissing(ex, reference);
                    return;
                }
            }

            await TitleGenerator.GenerateAsync(this, sessionId, model, userParts, logger, token).ConfigureAwait(false);
        });
    }

    /// <summary>Work that outlives a turn (titles): tracked, cancelled and awaited when the service is disposed.</summary>
    private void RunInBackground(Func<CancellationToken, Task> work)
    {
        var task = Task.Run(() => work(_stopping.Token), CancellationToken.None);
        lock (_background)
        {
            _background.Add(task);
        }

        task.ContinueWith(
            t =>
            {
                lock (_background)
                {
                    _background.Remove(t);
                }
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>A task that completes when the background work running now has finished (for tests and shutdown).</summary>
    internal Task BackgroundIdle()
    {
        lock (_background)
        {
            return Task.WhenAll(_background.ToArray());
        }
    }

    /// <summary>
    /// Aborts the running turns and summaries and waits until each has persisted its message and released its lock,
    /// then cancels background work (titles) and waits for it. Safe to call more than once.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Task idle;
        lock (_operationsGate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _operationsIdle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_operations == 0)
            {
                _operationsIdle.TrySetResult();
            }

            idle = _operationsIdle.Task;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await idle.ConfigureAwait(false);
        try
        {
            await BackgroundIdle().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
    }

    /// <summary>
    /// The same as <see cref="DisposeAsync"/>, for a container disposed synchronously: blocks until the turns have
    /// ended, without resuming on the caller's synchronization context (see <see cref="SynchronousDisposal"/>).
    /// </summary>
    public void Dispose() => SynchronousDisposal.Run(DisposeAsync);

    /// <summary>Counts a turn or summary in; throws <see cref="ObjectDisposedException"/> once the service is disposed.</summary>
    private void EnterOperation()
    {
        lock (_operationsGate)
        {
            if (_disposed)
            {
                throw Disposed();
            }

            _operations++;
        }
    }

    private void ExitOperation()
    {
        lock (_operationsGate)
        {
            if (--_operations == 0)
            {
                _operationsIdle?.TrySetResult();
            }
        }
    }

    private static ObjectDisposedException Disposed() =>
        new(nameof(ISessionService), "The AgentCore session service was disposed (its service provider was disposed): no turn can start.");

    /// <summary>
    /// Loads a session and its messages for a turn (or a summary), repairing what a dead process left: an assistant
    /// message left open is completed as interrupted (its unanswered tool calls get an error result, so the next prompt
    /// is valid) and gets the usage-history end entry its turn never wrote (exit reason <c>interrupted</c>); then the
    /// session's totals are brought up to date with its messages (see <see cref="SessionTotals.Reconcile"/>).
    /// </summary>
    /// <remarks>
    /// Taking the lease proves the session's lock is held: with a lock that holds across processes, an open message
    /// then belongs to no live turn anywhere. Only open messages are closed: a completed message is left as it is,
    /// whatever the state of its tool parts.
    /// </remarks>
    /// <exception cref="SessionNotFoundException">The session does not exist.</exception>
    internal async Task<(SessionInfo Session, IReadOnlyList<SessionMessage> Messages)> LoadForTurnAsync(ISessionLease lease, CancellationToken cancellationToken)
    {
        string sessionId = lease.SessionId;
        var session = await GetAsync(sessionId, cancellationToken).ConfigureAwait(false);
        var messages = await Store.GetMessagesAsync(sessionId, cancellationToken).ConfigureAwait(false);
        (session, messages) = await DiscardRevertedAsync(session, messages, cancellationToken).ConfigureAwait(false);
        var ended = new List<SessionMessage>();
        for (int i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message.Role != ChatRole.Assistant)
            {
                continue;
            }

            // With the lock held no turn runs: the calls still pending or running are dead — every one of an open
            // message, and in a completed message those an approval answer had started (it runs them in the message
            // that asked). A completed message's other parts are left as they are.
            bool open = message.CompletedAt is null;
            var now = _time.GetUtcNow();
            bool closedAny = false;
            foreach (var tool in message.Parts.OfType<ToolPart>())
            {
                if (tool.State is ToolState.Pending or ToolState.Running && (open || tool.Approval is not null))
                {
                    tool.State = ToolState.Error;
                    tool.Error = "interrupted: the process running this tool stopped before it returned";
                    tool.EndedAt = now;
                    closedAny = true;
                }
            }

            if (!open)
            {
                if (closedAny)
                {
                    await Store.SaveMessageAsync(message, CancellationToken.None).ConfigureAwait(false);
                }

                continue;
            }

            message.Error = new MessageError(MessageErrorKind.Interrupted, "The turn was interrupted: the process running it stopped.");
            message.CompletedAt = now;
            await Store.SaveMessageAsync(message, CancellationToken.None).ConfigureAwait(false);
            LogRecovered(sessionId, message.Id);
            await RecordHistoryAsync(InterruptedTurnEntry(message, i + 1)).ConfigureAwait(false);
            ended.Add(message);
        }

        // A completed reply the totals lack: its turn died after completing it, before or after writing its history end entry.
        if (session.TotalsCheckpoint is { } checkpoint)
        {
            for (int i = messages.Count - 1; i >= 0 && string.CompareOrdinal(messages[i].Id, checkpoint.MessageId) > 0; i--)
            {
                var message = messages[i];
                if (message is { IsSummary: false } && message.Role == ChatRole.Assistant && !ended.Contains(message) &&
                    !await HasEndEntryAsync(sessionId, message.CreatedAt, cancellationToken).ConfigureAwait(false))
                {
                    await RecordHistoryAsync(InterruptedTurnEntry(message, i + 1)).ConfigureAwait(false);
                }
            }
        }

        if (SessionTotals.Reconcile(session, messages) is var reconciled && !ReferenceEquals(reconciled, session))
        {
            LogTotalsReconciled(sessionId);
            session = await ReconcileTotalsAsync(sessionId, messages).ConfigureAwait(false) ?? throw new SessionNotFoundException(sessionId);
        }

        return (session, messages);
    }

    /// <summary>
    /// Brings a session's totals up to date with its messages, in one session write (see <see cref="SessionTotals.Reconcile"/>).
    /// Returns the session, or null when it is gone. Call with the session's lock held.
    /// </summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="messages">Its messages: ascending by id, except that those newer than the last reconcile may follow in any order.</param>
    /// <param name="published">Called with the <see cref="SessionUpdated"/> published when the totals changed.</param>
    internal Task<SessionInfo?> ReconcileTotalsAsync(string sessionId, IReadOnlyList<SessionMessage> messages, Action<SessionUpdated>? published = null) =>
        ChangeSessionAsync(sessionId, s => SessionTotals.Reconcile(s, messages), CancellationToken.None, published);

    /// <summary>Whether the usage history has an end entry of the session written at or after <paramref name="since"/> (read only after a crash).</summary>
    private async Task<bool> HasEndEntryAsync(string sessionId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        long sinceMs = since.ToUnixTimeMilliseconds();
        try
        {
            await foreach (var entry in _history.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (entry.ExitReason is not null && entry.SessionId == sessionId && entry.Timestamp >= sinceMs)
                {
                    return true;
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogHistoryFailed(ex, sessionId);
            return true; // Unreadable: writing another entry could count the turn twice.
        }

        return false;
    }

    /// <summary>The usage-history end entry of a turn whose process died: what its message recorded, exit reason <c>interrupted</c>.</summary>
    private SessionHistoryEntry InterruptedTurnEntry(SessionMessage message, int messageCount)
    {
        var apiTime = TimeSpan.Zero;
        int steps = 0, toolCalls = 0;
        long? contextTokens = null;
        DateTimeOffset? stepStarted = null;
        DateTimeOffset lastSeen = message.CreatedAt;
        foreach (var part in message.Parts)
        {
            switch (part)
            {
                case StepStartPart start:
                    stepStarted = start.StartedAt;
                    lastSeen = Max(lastSeen, start.StartedAt);
                    break;
                case StepFinishPart finish:
                    if (stepStarted is { } started)
                    {
                        apiTime += finish.EndedAt - started;
                    }

                    stepStarted = null;
                    steps++;
                    contextTokens = finish.Tokens.Total;
                    lastSeen = Max(lastSeen, finish.EndedAt);
                    break;
                case ToolPart tool:
                    toolCalls += tool.StartedAt is null ? 0 : 1;
                    lastSeen = Max(lastSeen, tool.EndedAt ?? tool.StartedAt ?? lastSeen);
                    break;
            }
        }

        var duration = new HistoryDuration
        {
            ApiMs = Math.Round(Math.Max(0, apiTime.TotalMilliseconds)),
            WallMs = Math.Round(Math.Max(0, (lastSeen - message.CreatedAt).TotalMilliseconds)),
        };
        return HistoryEntry(
            message.SessionId, message.ProviderId ?? "", message.ModelId ?? "", ExitReason.Interrupted,
            SessionStats.HistoryUsageOf(message.Tokens, contextTokens, steps), duration, message.Cost, messageCount, toolCalls);
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>Resolves <c>provider/model</c>, or the default model, or the only registered model.</summary>
    internal async Task<ResolvedModel> ResolveModelAsync(string? reference, CancellationToken cancellationToken)
    {
        reference ??= _options.DefaultModel;
        if (reference is null)
        {
            var all = _models.ListModels();
            if (all.Count != 1)
            {
                throw new InvalidOperationException(
                    "No model was given: set ChatRequest.Model or AgentCoreOptions.DefaultModel ('provider/model'). Registered: " +
                    (all.Count == 0 ? "none (register one with AddChatClient)." : string.Join(", ", all.Select(static m => m.Reference)) + "."));
            }

            reference = all[0].Reference;
        }

        var (providerId, modelId) = ModelProvider.ParseReference(reference, nameof(reference));
        return await _models.GetModelAsync(providerId, modelId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Read-modify-write of a session through <see cref="ISessionStore.UpdateSessionAsync"/> (atomic across processes on
    /// the in-repo stores) and, within this process, under the session's gate; bumps <see cref="SessionInfo.UpdatedAt"/>
    /// and raises <see cref="SessionUpdated"/>. <paramref name="change"/> may run more than once: keep it free of side effects.
    /// To add usage that belongs to no message (a title's), compose <see cref="SessionTotals.AddOutsideMessages"/> into it.
    /// </summary>
    internal async Task<SessionInfo?> ChangeSessionAsync(
        string sessionId, Func<SessionInfo, SessionInfo> change, CancellationToken cancellationToken, Action<SessionUpdated>? published = null)
    {
        var gate = GateOf(sessionId);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        bool changed = false;
        SessionInfo? updated;
        try
        {
            updated = await Store.UpdateSessionAsync(sessionId, current =>
            {
                var next = change(current);
                changed = !ReferenceEquals(next, current);
                return changed ? next with { UpdatedAt = Later(current.UpdatedAt, _time.GetUtcNow()) } : current;
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }

        if (changed && updated is not null)
        {
            var changedEvent = new SessionUpdated(sessionId, updated);
            Events.Publish(changedEvent);
            published?.Invoke(changedEvent);
        }

        return updated;
    }

    /// <summary>Writes a history entry; a failure is logged and never fails the turn.</summary>
    internal async Task RecordHistoryAsync(SessionHistoryEntry entry)
    {
        try
        {
            if (entry.ExitReason is null)
            {
                await _history.RecordStartAsync(entry, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                await _history.RecordEndAsync(entry, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            LogHistoryFailed(ex, entry.SessionId);
        }
    }

    private static DateTimeOffset Later(DateTimeOffset previous, DateTimeOffset now) =>
        now > previous ? now : previous.AddTicks(1);

    private SemaphoreSlim GateOf(string sessionId) =>
        _sessionGates[(int)((uint)StringComparer.Ordinal.GetHashCode(sessionId) % (uint)_sessionGates.Length)];

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: message {MessageId} was left open by a process that stopped; closed it as interrupted")]
    private partial void LogRecovered(string sessionId, string messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: its totals lacked usage a stopped process had recorded in its messages; brought them up to date")]
    private partial void LogTotalsReconciled(string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The title model '{Reference}' is not registered; no title is generated")]
    private partial void LogTitleModelMissing(Exception exception, string reference);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: writing the usage history failed")]
    private partial void LogHistoryFailed(Exception exception, string sessionId);
}
