using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>
/// What the facade (<see cref="SessionService"/>) and the engine (<see cref="Turn"/>, <see cref="Compaction"/>,
/// <see cref="TitleGenerator"/>) share: the services a turn uses, the operations on a session both need (resolving a
/// model, changing a session under its gate, bringing its totals up to date, writing the usage history, loading a
/// session for a turn with crash recovery), and the lifetime of the work they run (turns, summaries, background titles).
/// One per <see cref="SessionService"/>, created and disposed by it.
/// </summary>
/// <remarks>
/// Disposing it aborts the turns and summaries running, waits until each has persisted its message and released its
/// lock, then cancels and awaits the background work. A turn or summary started after disposal throws
/// <see cref="ObjectDisposedException"/>.
/// </remarks>
internal sealed partial class SessionRuntime : IAsyncDisposable
{
    // Read-modify-write of a session (renames, totals, titles) goes through one of these, chosen by the id's hash.
    private readonly SemaphoreSlim[] _sessionGates = Enumerable.Range(0, 64).Select(static _ => new SemaphoreSlim(1, 1)).ToArray();
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<Task> _background = [];
    private readonly Lock _operationsGate = new();
    private readonly ILogger _logger;
    private int _operations;
    private bool _disposed;
    private TaskCompletionSource? _operationsIdle;

    public SessionRuntime(
        ISessionStore store,
        IModelProvider models,
        IToolRegistry tools,
        ISessionHistory history,
        ISessionLockProvider locks,
        SessionEventHub events,
        AgentCoreOptions options,
        TimeProvider time,
        IServiceProvider services,
        IReadOnlyList<ISystemPromptProvider> systemPrompt,
        AgentCoreInstrumentation telemetry,
        ILoggerFactory loggerFactory)
    {
        Store = store;
        Models = models;
        Tools = tools;
        History = history;
        Locks = locks;
        Events = events;
        Options = options;
        Time = time;
        Services = services;
        SystemPrompt = systemPrompt;
        Telemetry = telemetry;
        LoggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<SessionRuntime>();
    }

    /// <summary>Where sessions and messages are stored.</summary>
    public ISessionStore Store { get; }

    /// <summary>The registered models.</summary>
    public IModelProvider Models { get; }

    /// <summary>The tools a turn offers the model.</summary>
    public IToolRegistry Tools { get; }

    /// <summary>The usage history: one start and one end entry per turn (and per title).</summary>
    public ISessionHistory History { get; }

    /// <summary>The session busy lock.</summary>
    public ISessionLockProvider Locks { get; }

    /// <summary>Where events are published to subscribers (and numbered).</summary>
    public SessionEventHub Events { get; }

    /// <summary>The validated options.</summary>
    public AgentCoreOptions Options { get; }

    /// <summary>Every clock and delay.</summary>
    public TimeProvider Time { get; }

    /// <summary>The app's services: handed to tools and approval policies.</summary>
    public IServiceProvider Services { get; }

    /// <summary>The system prompt's providers, in registration order.</summary>
    public IReadOnlyList<ISystemPromptProvider> SystemPrompt { get; }

    /// <summary>Where the engine's spans and metrics go (see <see cref="AgentCoreInstrumentation"/>).</summary>
    public AgentCoreInstrumentation Telemetry { get; }

    /// <summary>The conversations of the sessions whose turns ran here recently (see <see cref="LoadForTurnAsync"/>).</summary>
    public ConversationCache Conversations { get; } = new();

    /// <summary>Loggers of the engine's types.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Cancelled when the runtime is disposed: turns, summaries and background work link it into their tokens.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Whether <see cref="Stopping"/> has been cancelled.</summary>
    public bool IsStopping => _stopping.IsCancellationRequested;

    /// <summary>Counts a turn or summary in; throws <see cref="ObjectDisposedException"/> once the runtime is disposed.</summary>
    /// <exception cref="ObjectDisposedException">The runtime (its session service) was disposed.</exception>
    public void EnterOperation()
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

    /// <summary>Counts a turn or summary out (after its message is persisted and its lock released).</summary>
    public void ExitOperation()
    {
        lock (_operationsGate)
        {
            if (--_operations == 0)
            {
                _operationsIdle?.TrySetResult();
            }
        }
    }

    /// <summary>The exception a turn or summary started (or cut short) by disposal throws.</summary>
    public static ObjectDisposedException Disposed() =>
        new(nameof(ISessionService), "The AgentCore session service was disposed (its service provider was disposed): no turn can start.");

    /// <summary>Work that outlives a turn (titles): tracked, cancelled and awaited when the runtime is disposed.</summary>
    /// <param name="work">The work; it gets <see cref="Stopping"/>.</param>
    public void RunInBackground(Func<CancellationToken, Task> work)
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
    /// <returns>The task.</returns>
    public Task BackgroundIdle()
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
    /// <returns>A task that completes when everything has stopped.</returns>
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

    /// <summary>Resolves <c>provider/model</c>, or the default model, or the only registered model.</summary>
    /// <param name="reference">The model as <c>provider/model</c>, or null for the default.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The model and its chat client.</returns>
    /// <exception cref="InvalidOperationException">No model was given and there is no default or only model.</exception>
    /// <exception cref="ModelNotFoundException">The model is not registered.</exception>
    public async Task<ResolvedModel> ResolveModelAsync(string? reference, CancellationToken cancellationToken)
    {
        reference ??= Options.DefaultModel;
        if (reference is null)
        {
            var all = Models.ListModels();
            if (all.Count != 1)
            {
                throw new InvalidOperationException(
                    "No model was given: set ChatRequest.Model or AgentCoreOptions.DefaultModel ('provider/model'). Registered: " +
                    (all.Count == 0 ? "none (register one with AddChatClient)." : string.Join(", ", all.Select(static m => m.Reference)) + "."));
            }

            reference = all[0].Reference;
        }

        var (providerId, modelId) = ModelProvider.ParseReference(reference, nameof(reference));
        return await Models.GetModelAsync(providerId, modelId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The in-process gate of a session: read-modify-writes of a session (and creating one) go through it.</summary>
    /// <param name="sessionId">The session.</param>
    /// <returns>The gate (shared by the ids of one hash bucket).</returns>
    public SemaphoreSlim GateOf(string sessionId) =>
        _sessionGates[(int)((uint)StringComparer.Ordinal.GetHashCode(sessionId) % (uint)_sessionGates.Length)];

    /// <summary>
    /// Read-modify-write of a session through <see cref="ISessionStore.UpdateSessionAsync"/> (atomic across processes on
    /// the in-repo stores) and, within this process, under the session's gate; bumps <see cref="SessionInfo.UpdatedAt"/>
    /// and raises <see cref="SessionUpdated"/>. <paramref name="change"/> may run more than once: keep it free of side effects.
    /// To add usage that belongs to no message (a title's), compose <see cref="SessionTotals.AddOutsideMessages"/> into it.
    /// </summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="change">The change; returning the session it got means no change (nothing is published).</param>
    /// <param name="cancellationToken">Cancels waiting for the gate and the store.</param>
    /// <param name="published">Called with the <see cref="SessionUpdated"/> published when the session changed.</param>
    /// <param name="holdingLock">
    /// The caller holds the session's busy lock outside a turn (a revert): the event is numbered as a turn's are, taking the
    /// session's numbering from an owner that is gone (see <see cref="SessionEventHub.PublishHoldingLockAsync"/>).
    /// </param>
    /// <returns>The session after the change, or null when it does not exist.</returns>
    public async Task<SessionInfo?> ChangeSessionAsync(
        string sessionId, Func<SessionInfo, SessionInfo> change, CancellationToken cancellationToken, Action<SessionUpdated>? published = null,
        bool holdingLock = false)
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
                return changed ? next with { UpdatedAt = Later(current.UpdatedAt, Time.GetUtcNow()) } : current;
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }

        if (changed && updated is not null)
        {
            // In a turn of this instance numbered at once; outside one, with a relay, numbered (or queued) in the database
            // before this returns, so the caller's next change is numbered after it.
            var changedEvent = new SessionUpdated(sessionId, updated);
            if (holdingLock)
            {
                await Events.PublishHoldingLockAsync(changedEvent).ConfigureAwait(false);
            }
            else
            {
                await Events.PublishAsync(changedEvent).ConfigureAwait(false);
            }
            published?.Invoke(changedEvent);
        }

        return updated;
    }

    /// <summary>
    /// Brings a session's totals up to date with its messages, in one session write (see <see cref="SessionTotals.Reconcile"/>).
    /// Call with the session's lock held.
    /// </summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="messages">Its messages: ascending by id, except that those newer than the last reconcile may follow in any order.</param>
    /// <param name="published">Called with the <see cref="SessionUpdated"/> published when the totals changed.</param>
    /// <returns>The session, or null when it is gone.</returns>
    public Task<SessionInfo?> ReconcileTotalsAsync(string sessionId, IReadOnlyList<SessionMessage> messages, Action<SessionUpdated>? published = null) =>
        ChangeSessionAsync(sessionId, s => SessionTotals.Reconcile(s, messages), CancellationToken.None, published);

    /// <summary>
    /// A usage-history entry of this runtime's agent and project, stamped now: a start entry, or with
    /// <paramref name="exitReason"/> an end entry with its usage, duration, cost and counts. Every entry AgentCore writes is made here.
    /// </summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="providerId">The provider of the model called.</param>
    /// <param name="modelId">The model called.</param>
    /// <param name="exitReason">Null for a start entry; why the run ended for an end entry.</param>
    /// <param name="usage">The run's usage (end entries).</param>
    /// <param name="duration">The run's duration (end entries).</param>
    /// <param name="cost">The run's cost in USD.</param>
    /// <param name="messageCount">The messages of the session after the run (end entries).</param>
    /// <param name="toolCallCount">The tool calls of the run (end entries).</param>
    /// <returns>The entry.</returns>
    public SessionHistoryEntry HistoryEntry(
        string sessionId, string providerId, string modelId, ExitReason? exitReason = null,
        HistoryUsage? usage = null, HistoryDuration? duration = null, decimal cost = 0m, int messageCount = 0, int toolCallCount = 0) => new()
    {
        AgentId = Options.AgentId,
        SessionId = sessionId,
        Timestamp = Time.GetUtcNow().ToUnixTimeMilliseconds(),
        Project = Options.Project ?? Environment.CurrentDirectory,
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
    /// <param name="sessionId">The session.</param>
    /// <param name="model">The model called.</param>
    /// <param name="stats">The call's usage and timing.</param>
    /// <param name="cost">The call's cost in USD.</param>
    /// <param name="end">Whether to make the end entry (else the start entry).</param>
    /// <returns>The entry.</returns>
    public SessionHistoryEntry HistoryEntryOf(string sessionId, ModelInfo model, SessionStats stats, decimal cost, bool end) => end
        ? HistoryEntry(sessionId, model.ProviderId, model.ModelId, ExitReason.Completed, stats.ToHistoryUsage(), stats.ToHistoryDuration(), cost)
        : HistoryEntry(sessionId, model.ProviderId, model.ModelId);

    /// <summary>Writes a usage-history entry (a start entry when it has no exit reason); a failure is logged and never fails the turn.</summary>
    /// <param name="entry">The entry.</param>
    /// <returns>A task that completes when the entry is written or its failure logged.</returns>
    public async Task RecordHistoryAsync(SessionHistoryEntry entry)
    {
        try
        {
            if (entry.ExitReason is null)
            {
                await History.RecordStartAsync(entry, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                await History.RecordEndAsync(entry, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            LogHistoryFailed(ex, entry.SessionId);
        }
    }

    private static DateTimeOffset Later(DateTimeOffset previous, DateTimeOffset now) =>
        now > previous ? now : previous.AddTicks(1);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: writing the usage history failed")]
    private partial void LogHistoryFailed(Exception exception, string sessionId);
}
