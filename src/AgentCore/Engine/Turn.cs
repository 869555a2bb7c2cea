using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>How a turn ended: its assistant message, and the exception to throw to the caller, if any.</summary>
internal sealed record TurnOutcome(SessionMessage Message, ExitReason ExitReason, Exception? Failure);

/// <summary>
/// One turn of conversation, top to bottom: persist the user's message, open the assistant's, then step —
/// stream from the model, turn updates into parts and events, run the tools it asked for, record usage and
/// cost — until the model answers without tools or the step limit is reached; then close the message,
/// record the usage history and bring the session's totals up to date. Created by <see cref="RunStreamingAsync"/> with the
/// session's lock held; never throws (failures end the turn and become its outcome).
/// </summary>
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "_persistGate is a SemaphoreSlim whose AvailableWaitHandle is never read: it holds nothing to dispose.")]
internal sealed partial class Turn
{
    /// <summary>How often streamed text is persisted at most: a crash loses at most this much of it.</summary>
    internal static readonly TimeSpan TextPersistInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The declaration-only form of each tool, advertised to the model: AgentCore runs the calls itself, so a
    /// <c>FunctionInvokingChatClient</c> in the provider's pipeline hands them back instead of running them too.
    /// </summary>
    private static readonly ConditionalWeakTable<AIFunction, AIFunctionDeclaration> Declarations = new();

    /// <summary>The finish reason of a step the turn's abort cut off.</summary>
    private const string AbortedFinishReason = "aborted";

    private readonly SessionRuntime _runtime;
    private readonly TurnSetup _setup;
    private readonly AgentCoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SessionStats _stats;
    private readonly SemaphoreSlim _persistGate = new(1, 1);
    // The parts of _message changed since its last write (each once), written together by WriteChangesAsync.
    private readonly List<MessagePart> _changed = [];
    private readonly Lock _changedGate = new();

    // Streamed text copied into its part and marked changed but not yet written (a tool call ended the text run): the
    // ~1 s flush writes it even when no more text arrives.
    private bool _textCollected;
    // For each text or reasoning part of _message the store holds, how much of its text it holds: later writes append the rest.
    private readonly Dictionary<MessagePart, int> _storedText = new(ReferenceEqualityComparer.Instance);
    private readonly SessionMessage _user;
    private readonly SessionMessage _message;
    private StepState? _step;
    private List<SessionMessage> _conversation;
    private List<ChatMessage>? _prompt;
    private KeptConversation? _kept;
    private bool _compacted;
    private bool _completionSaved;
    private bool _writeFailed;
    private Task _historyStarted = Task.CompletedTask;
    private SessionMessage? _completedSnapshot;
    private int _promptParts;
    private (IReadOnlyList<AIFunction> Tools, int Count, AITool[] Advertised)? _advertised;
    private int _stepNumber;
    private int _toolCalls;
    private bool _compactedForOverflow;
    private Activity? _activity;
    // The turn's attachment to its session's events, through which it publishes them (set before it runs).
    private SessionEventHub.Attachment? _events;

    /// <summary>
    /// A turn as <see cref="ISessionService.ChatStreamingAsync"/> streams it, top to bottom: takes the session's lock
    /// (failing fast with <see cref="SessionBusyException"/>), prepares what the turn reads (<see cref="PrepareAsync"/>),
    /// runs it (<see cref="RunAsync"/>) on a task of its own while relaying its events to the caller, releases the lock on
    /// every path and rethrows the turn's failure, if any, after <see cref="TurnCompleted"/>.
    /// </summary>
    /// <param name="runtime">What the turn uses: store, models, tools, lock, events, history, options, clock.</param>
    /// <param name="request">The caller's request, validated.</param>
    /// <param name="userParts">The user's message as parts (empty when the request only answers approval requests).</param>
    /// <param name="answers">The request's answers to approval requests.</param>
    /// <param name="completionOnly">Whether the caller reads only <see cref="TurnCompleted"/> (<see cref="ISessionService.ChatAsync"/>): the other events are published to subscribers but not written to the returned stream.</param>
    /// <param name="cancellationToken">The caller's cancellation: cancelling it aborts the turn.</param>
    /// <returns>The turn's events, <see cref="TurnCompleted"/> last.</returns>
    public static async IAsyncEnumerable<SessionEvent> RunStreamingAsync(
        SessionRuntime runtime, ChatRequest request, List<MessagePart> userParts, List<ToolApprovalResponseContent> answers, bool completionOnly,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string sessionId = request.SessionId;
        runtime.EnterOperation();
        ISessionLease lease;
        TurnSetup setup;
        try
        {
            // Until the turn runs, disposing the service cancels the start as well.
            using var starting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, runtime.Stopping);
            lease = await runtime.Locks.TryAcquireAsync(sessionId, starting.Token).ConfigureAwait(false)
                    ?? throw new SessionBusyException(sessionId);
            try
            {
                setup = await PrepareAsync(runtime, lease, request, userParts, answers, starting.Token).ConfigureAwait(false);
            }
            catch
            {
                await lease.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        catch (OperationCanceledException) when (runtime.IsStopping && !cancellationToken.IsCancellationRequested)
        {
            runtime.ExitOperation();
            throw SessionRuntime.Disposed();
        }
        catch
        {
            runtime.ExitOperation();
            throw;
        }

        var turnCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.AbortRequested, runtime.Stopping);
        var channel = Channel.CreateUnbounded<SessionEvent>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
        var turn = new Turn(runtime, setup);

        // The turn starts on the caller's enumeration: it runs inline until its first await that does not complete at
        // once (a model, tool or store call that really waits), then goes on by itself on the thread that resumes it.
        // So a turn whose calls complete synchronously hands its events over without a thread hop, and the lock is still
        // released by the turn itself: disposing the service can wait for the whole turn (message persisted, lock
        // released) whether or not the caller still reads the stream. A caller with a synchronization context or a
        // task scheduler of its own gets the turn on the thread pool instead, so the app's tools and chat clients never
        // resume on its context.
        var running = SynchronizationContext.Current is null && TaskScheduler.Current == TaskScheduler.Default
            ? RunAttachedAsync()
            : Task.Run(RunAttachedAsync, CancellationToken.None);
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

        async Task<TurnOutcome> RunAttachedAsync()
        {
            try
            {
                // The turn's stream gets every event of the session while the turn runs (a title's too), so it has no gaps.
                var attachment = await runtime.Events.AttachAsync(sessionId, completionOnly ? new CompletionOnlyWriter(channel.Writer) : channel.Writer, CancellationToken.None).ConfigureAwait(false);
                turn._events = attachment;
                try
                {
                    return await turn.RunAsync(channel.Writer, cancellationToken, turnCancellation.Token).ConfigureAwait(false);
                }
                finally
                {
                    await attachment.DisposeAsync().ConfigureAwait(false);
                    await lease.DisposeAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                runtime.ExitOperation();
            }
        }
    }

    /// <summary>
    /// Everything the turn reads before its first write: the model, the session and its conversation (repaired after a
    /// crash, see <see cref="SessionRuntime.LoadForTurnAsync"/>), the calls waiting for approval the request answers,
    /// and the system prompt's sections.
    /// </summary>
    private static async Task<TurnSetup> PrepareAsync(SessionRuntime runtime, ISessionLease lease, ChatRequest request, List<MessagePart> userParts, List<ToolApprovalResponseContent> answers, CancellationToken cancellationToken)
    {
        var model = await runtime.ResolveModelAsync(request.Model, cancellationToken).ConfigureAwait(false);
        var (session, messages, kept) = await runtime.LoadForTurnAsync(lease, cancellationToken).ConfigureAwait(false);

        // A conversation kept from this process's last turn has calls waiting for approval in its last message only.
        var approvals = ToolApproval.Match(session.Id, messages, answers, nameof(request), scanFrom: kept is null ? 0 : messages.Count - 1);
        var context = new SystemPromptContext(session, model.Info);
        var sections = new List<string>(runtime.SystemPrompt.Count);
        foreach (var provider in runtime.SystemPrompt)
        {
            if (await provider.GetSectionAsync(context, cancellationToken).ConfigureAwait(false) is { Length: > 0 } section)
            {
                sections.Add(section);
            }
        }

        return new TurnSetup(session, model, userParts, messages, sections, request.Options, approvals, request.Budget, kept);
    }

    private Turn(SessionRuntime runtime, TurnSetup setup)
    {
        _runtime = runtime;
        _setup = setup;
        _options = runtime.Options;
        _time = runtime.Time;
        _logger = runtime.LoggerFactory.CreateLogger<Turn>();
        _stats = new SessionStats(_time);
        _conversation = [.. setup.Conversation];

        // Answering (or rejecting) calls that waited for approval changes their results in an earlier message: convert again.
        _kept = setup.Approvals is { Count: > 0 } ? null : setup.Kept;
        var now = _time.GetUtcNow();
        _user = new SessionMessage
        {
            Id = Identifier.Create(IdKind.Message, _time),
            SessionId = setup.Session.Id,
            Role = ChatRole.User,
            Parts = setup.UserParts,
            CreatedAt = now,
            CompletedAt = now,
        };
        _message = new SessionMessage
        {
            Id = Identifier.Create(IdKind.Message, _time),
            SessionId = setup.Session.Id,
            Role = ChatRole.Assistant,
            CreatedAt = now,
            ProviderId = setup.Model.Info.ProviderId,
            ModelId = setup.Model.Info.ModelId,
        };
    }

    private string SessionId => _setup.Session.Id;

    /// <summary>Runs the turn, writing its events to <paramref name="events"/> and completing it with <see cref="TurnCompleted"/>.</summary>
    /// <param name="events">Where the turn's events go (the caller's stream).</param>
    /// <param name="callerToken">The caller's cancellation: cancelled means the turn is aborted and the caller gets an <see cref="OperationCanceledException"/>.</param>
    /// <param name="turnToken">Cancelled by the caller's token or by <see cref="ISessionService.Abort"/>.</param>
    public async Task<TurnOutcome> RunAsync(ChannelWriter<SessionEvent> events, CancellationToken callerToken, CancellationToken turnToken)
    {
        // Started here, on the turn's own task: the model's chat spans, tool calls, compaction and title nest under it.
        using var activity = _activity = AgentCoreInstrumentation.StartTurn(SessionId, _setup.Model, _options.AgentId);
        long startedAt = _time.GetTimestamp();
        ExitReason exitReason = ExitReason.Completed;
        Exception? failure = null;
        try
        {
            // The start entry is written while the turn goes on (the end entry waits for it): nothing depends on it being
            // on disk before the model is called, and the turn does not wait for a file append it does not need.
            _historyStarted = _runtime.RecordHistoryAsync(HistoryEntry(exitReason: null));

            // The user's request is stored first, so it survives whatever follows, word for word; then the reply, open,
            // so that a crash from here on (compaction included) leaves a message for recovery to close and account.
            // An answer to approval requests has no user message: the answers are applied to the calls that waited for them.
            if (_setup.UserParts.Count > 0)
            {
                await PersistUserMessageAsync().ConfigureAwait(false);
            }

            // The title is asked for once the user's message is stored and published, so the caller's stream always
            // starts with that message and the title's SessionUpdated (which joins the stream) can only come after it.
            if (_options.GenerateTitles && _conversation.Count == 0 && _setup.Session.HasDefaultTitle)
            {
                TitleGenerator.Start(_runtime, SessionId, _setup.Model, _setup.UserParts);
            }

            await SaveWholeMessageAsync().ConfigureAwait(false);
            Emit(new MessageUpdated(SessionId, Snapshot(_message)));
            await ResolveApprovalsAsync(turnToken).ConfigureAwait(false);
            if (_options.AutoCompaction && Compaction.ShouldCompact(_conversation, _setup.Model.Info, _options.CompactionThreshold))
            {
                await CompactAsync(keepFromId: _user.Id, turnToken).ConfigureAwait(false);
            }

            for (_stepNumber = 1; ; _stepNumber++)
            {
                if (CheckBudgets() is { } spent)
                {
                    exitReason = spent;
                    break;
                }

                bool lastStep = _stepNumber >= _options.MaxSteps;
                var calls = await RunStepAsync(lastStep, turnToken).ConfigureAwait(false);
                if (calls.Count == 0)
                {
                    break;
                }

                if (lastStep)
                {
                    exitReason = ExitReason.MaxSteps;
                    break;
                }

                await RunToolsAsync(calls, turnToken).ConfigureAwait(false);
                if (CheckAfterTools() is { } stop)
                {
                    exitReason = stop;
                    break;
                }
            }
        }
        catch (Exception) when (turnToken.IsCancellationRequested)
        {
            // Whatever ends the turn once it is aborted is the abort's doing: clients may surface a cancelled
            // stream as an I/O or SDK error rather than an OperationCanceledException.
            exitReason = ExitReason.Aborted;
            failure = callerToken.IsCancellationRequested ? new OperationCanceledException("The turn was cancelled.", null, callerToken) : null;
        }
        catch (Exception ex)
        {
            exitReason = ExitReason.Error;
            failure = ex;
        }

        (exitReason, failure) = await FinishAsync(exitReason, failure).ConfigureAwait(false);
        await KeepConversationAsync(exitReason).ConfigureAwait(false);
        _runtime.Telemetry.EndTurn(activity, _setup.Model, _message, exitReason, failure, _stepNumber, _toolCalls,
            _time.GetElapsedTime(startedAt), _options.EnableSensitiveTelemetryData ? _user.Parts : null);
        Emit(new TurnCompleted(SessionId, _completedSnapshot ?? Snapshot(_message), exitReason));
        events.TryComplete();
        return new TurnOutcome(_message, exitReason, failure);
    }

    private async Task PersistUserMessageAsync()
    {
        await PersistAsync(() => _runtime.Store.SaveMessageAsync(_user, CancellationToken.None)).ConfigureAwait(false);
        Emit(new MessageUpdated(SessionId, Snapshot(_user)));
    }

    /// <summary>Summarizes the session (see <see cref="Compaction"/>), keeping the messages from <paramref name="keepFromId"/> on.</summary>
    private async Task<SessionMessage?> CompactAsync(string? keepFromId, CancellationToken token)
    {
        // Compaction changes the conversation (older tool outputs pruned, a summary newer than this turn's messages):
        // the next prompt is converted again, and the conversation is not kept for the next turn.
        _compacted = true;
        _kept = null;
        var compaction = new Compaction(_runtime, _logger);
        var summary = await compaction.CompactAsync(_setup.Session, _setup.Model, _conversation, keepFromId, Emit, token).ConfigureAwait(false);
        if (summary is not null)
        {
            _conversation.Add(summary);
            _prompt = null;
        }

        return summary;
    }

    /// <summary>
    /// The prompt of the next step (see <see cref="PromptBuilder"/>): the system prompt, the conversation from the latest
    /// summary on, this turn so far. Extended, not rebuilt, between steps: the conversation and the user's message are
    /// converted once per turn (again after a compaction), and each step converts only the parts added since the
    /// previous one — the steps before are final by then, their tool calls all closed.
    /// </summary>
    private PromptSnapshot BuildPrompt()
    {
        if (_prompt is null)
        {
            if (_kept is { } kept)
            {
                // The previous turn's last prompt, its system message rebuilt and its reply's last step added: only
                // what is new is converted.
                _prompt = new List<ChatMessage>(kept.Prompt.Count + 8) { PromptBuilder.SystemMessage(_setup.SystemPrompt) };
                _prompt.AddRange(CollectionsMarshal.AsSpan(kept.Prompt)[1..]);
                PromptConversion.AppendChatMessages(kept.Messages[^1], _prompt, fromPart: kept.PromptedParts);
                PromptConversion.AppendChatMessages(_user, _prompt);
            }
            else
            {
                _prompt = PromptBuilder.ForStep(_setup.SystemPrompt, [.. _conversation, _user]);
            }

            _promptParts = 0;
        }

        PromptConversion.AppendChatMessages(_message, _prompt, fromPart: _promptParts);
        _promptParts = _message.Parts.Count;

        // A read-only view of the messages so far, not a copy: the list is only appended to (a rebuild makes a new one).
        return new PromptSnapshot(_prompt, _prompt.Count);
    }

    /// <summary>One model call: streams it (retrying transient failures) and returns the tool calls it asked for.</summary>
    private async ValueTask<List<(FunctionCallContent Call, ToolPart Part)>> RunStepAsync(bool lastStep, CancellationToken token)
    {
        var start = new StepStartPart { Id = NewPartId(), StartedAt = _time.GetUtcNow() };
        _message.Parts.Add(start);
        MarkChanged(start);

        var tools = lastStep ? [] : await RegistryToolsAsync(token).ConfigureAwait(false);
        var options = ChatOptionsFor(tools);
        var prompt = BuildPrompt();

        for (int attempt = 0; ; attempt++)
        {
            _step = new StepState(tools, _stats.StartApiCall(), _time.GetTimestamp());
            try
            {
                await foreach (var update in _setup.Model.ChatClient.GetStreamingResponseAsync(prompt, options, token).ConfigureAwait(false))
                {
                    await ApplyAsync(update).ConfigureAwait(false);
                }

                break;
            }
            catch (Exception ex) when (!_step.ProducedOutput && !_compactedForOverflow && _options.AutoCompaction &&
                                       !token.IsCancellationRequested && ModelErrors.IsContextOverflow(ex))
            {
                // The provider says the prompt is too long: compact once (keeping this turn) and try the step again.
                _compactedForOverflow = true;
                LogCompactingForOverflow(SessionId);
                if (await CompactAsync(keepFromId: _user.Id, token).ConfigureAwait(false) is null)
                {
                    throw;
                }

                prompt = BuildPrompt();
            }
            catch (Exception ex) when (!_step.ProducedOutput && attempt < _options.MaxRetries && ModelErrors.IsTransient(ex, token) &&
                                       !ModelErrors.RetriedBySdk(ex))
            {
                var delay = RetryDelay(ex, attempt + 1);
                LogRetrying(SessionId, attempt + 1, delay, ex.GetType().Name, ModelErrors.StatusCode(ex));
                Emit(new Retrying(SessionId, attempt + 1, delay, Describe(ex)));
                await Task.Delay(delay, _time, token).ConfigureAwait(false);
            }
        }

        CloseInformationalCalls();
        FinishStep();

        // A call the pipeline already answered (its result streamed, or marked informational) is never run again.
        var pending = new List<(FunctionCallContent Call, ToolPart Part)>(_step.Calls.Count);
        foreach (var call in _step.Calls)
        {
            if (call.Part.State == ToolState.Pending)
            {
                pending.Add(call);
            }
        }

        return pending;
    }

    /// <summary>The registry's tools for this session and model.</summary>
    private ValueTask<IReadOnlyList<AIFunction>> RegistryToolsAsync(CancellationToken token) =>
        _runtime.Tools.GetToolsAsync(new ToolContext(SessionId, _setup.Model.Info.ProviderId, _setup.Model.Info.ModelId), token);

    /// <summary>Turns one streamed update into parts and events.</summary>
    private async ValueTask ApplyAsync(ChatResponseUpdate update)
    {
        // Indexed: enumerating the IList would box its enumerator for every update.
        var contents = update.Contents;
        for (int i = 0; i < contents.Count; i++)
        {
            var content = ToolApproval.CallOf(contents[i]);
            if (_step!.ResultsStreamed && content is not FunctionResultContent)
            {
                // The pipeline ran the tools and called the model again within this stream: that is a new step.
                StartPipelineStep();
            }

            var step = _step!;
            switch (content)
            {
                case TextReasoningContent reasoning when !string.IsNullOrEmpty(reasoning.Text):
                    await AppendAsync(step.Reasoning, reasoning.Text, static id => new ReasoningPart { Id = id }, reasoning: true).ConfigureAwait(false);
                    break;

                case TextContent text when !string.IsNullOrEmpty(text.Text):
                    await AppendAsync(step.Text, text.Text, static id => new TextPart { Id = id }, reasoning: false).ConfigureAwait(false);
                    break;

                case FunctionCallContent call:
                    step.ProducedOutput = true;
                    CollectText();
                    var tool = PromptConversion.ToToolPart(call, NewPartId());
                    _message.Parts.Add(tool);
                    step.Calls.Add((call, tool));
                    MarkChanged(tool);
                    Emit(new ToolCallUpdated(SessionId, _message.Id, Snapshot(tool)));
                    if (step.EarlyResults?.Remove(call.CallId, out var early) == true)
                    {
                        CompleteFromStream(tool, early);
                    }

                    break;

                case FunctionResultContent result:
                    step.ProducedOutput = true;
                    if (PendingCall(step, result.CallId) is { } answered)
                    {
                        CompleteFromStream(answered, result);
                    }
                    else
                    {
                        // A server-side tool may stream its result before its call.
                        (step.EarlyResults ??= new(StringComparer.Ordinal))[result.CallId] = result;
                    }

                    break;

                case UsageContent usage:
                    (step.Usage ??= new UsageDetails()).Add(usage.Details);
                    break;

                case DataContent data:
                    step.ProducedOutput = true;
                    var file = PromptConversion.ToFilePart(data, NewPartId());
                    _message.Parts.Add(file);
                    MarkChanged(file);
                    break;

                case ErrorContent error:
                    LogProviderErrorContent(SessionId, error.ErrorCode);
                    break;
            }
        }

        if (update.FinishReason is { } finish)
        {
            _step!.FinishReason = finish.Value;
        }

        if ((_step!.HasUnsavedText || _textCollected) && _time.GetElapsedTime(_step.LastTextPersist) >= TextPersistInterval)
        {
            // About once a second the text streamed so far is stored, with whatever else changed since the last write.
            CollectText();
            await WriteChangesAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The step's call <paramref name="callId"/> while it is pending, else null. A loop, not a lambda: a lambda capturing the
    /// result would cost a closure for every content of every streamed update.
    /// </summary>
    private static ToolPart? PendingCall(StepState step, string callId)
    {
        foreach (var (call, part) in step.Calls)
        {
            if (call.CallId == callId && part.State == ToolState.Pending)
            {
                return part;
            }
        }

        return null;
    }

    /// <summary>
    /// Records a call the provider's pipeline ran itself (a <see cref="FunctionResultContent"/> in the stream, e.g.
    /// from a <c>FunctionInvokingChatClient</c> that knew the tool): completed with that result, and never run again.
    /// </summary>
    private void CompleteFromStream(ToolPart part, FunctionResultContent result)
    {
        var outcome = ToolInvoker.FromResult(result, _options.MaxToolOutputBytes, _time);
        Interlocked.Increment(ref _toolCalls);
        part.StartedAt ??= _time.GetUtcNow();
        part.EndedAt = _time.GetUtcNow();
        outcome.ApplyTo(part);
        _step!.ResultsStreamed = true;
        LogToolResultStreamed(SessionId, part.ToolName, part.CallId);
        MarkChanged(part);
        Emit(new ToolCallUpdated(SessionId, _message.Id, Snapshot(part)));
    }

    /// <summary>Closes the step whose calls the pipeline answered and opens the one its next model call streams into.</summary>
    private void StartPipelineStep()
    {
        var previous = _step!;
        FinishStep();
        _stepNumber++;
        var start = new StepStartPart { Id = NewPartId(), StartedAt = _time.GetUtcNow() };
        _message.Parts.Add(start);
        MarkChanged(start);
        _step = new StepState(previous.Tools, _stats.StartApiCall(), _time.GetTimestamp()) { ProducedOutput = true };
        _step.Calls.AddRange(previous.Calls.Where(static c => c.Part.State == ToolState.Pending));
    }

    /// <summary>
    /// Closes the calls the pipeline marked <see cref="FunctionCallContent.InformationalOnly"/> (handled elsewhere, e.g. by
    /// the service) whose result did not stream: they are not AgentCore's to run.
    /// </summary>
    private void CloseInformationalCalls()
    {
        foreach (var (call, part) in _step!.Calls)
        {
            if (call.InformationalOnly && part.State == ToolState.Pending)
            {
                CompleteFromStream(part, new FunctionResultContent(call.CallId, ""));
            }
        }
    }

    /// <summary>Adds a streamed chunk to the step's text or reasoning and raises its delta event.</summary>
    private ValueTask AppendAsync(StreamedText streamed, string delta, Func<string, MessagePart> create, bool reasoning)
    {
        _step!.ProducedOutput = true;
        if (streamed.Part is not { } part)
        {
            return StartTextAsync(streamed, delta, create, reasoning);
        }

        streamed.Builder.Append(delta);
        EmitDelta(part, delta, reasoning);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// A new text or reasoning part is stored at once with its first chunk (and whatever else changed, such as the step's
    /// start), so a stream that stalls after it keeps it; later chunks are appended to it about once a second.
    /// </summary>
    private async ValueTask StartTextAsync(StreamedText streamed, string delta, Func<string, MessagePart> create, bool reasoning)
    {
        var part = streamed.Part = create(NewPartId());
        _message.Parts.Add(part);
        streamed.Builder.Append(delta);
        CollectText();
        await WriteChangesAsync().ConfigureAwait(false);
        EmitDelta(part, delta, reasoning);
    }

    private void EmitDelta(MessagePart part, string delta, bool reasoning) =>
        Emit(reasoning
            ? new ReasoningDelta(SessionId, _message.Id, part.Id, delta)
            : new TextDelta(SessionId, _message.Id, part.Id, delta));

    /// <summary>Copies the text streamed since the last call into its parts and marks them changed (the next write stores them).</summary>
    private void CollectText()
    {
        if (_step is not { } step)
        {
            return;
        }

        if (step.Reasoning.Materialize())
        {
            MarkChanged(step.Reasoning.Part!);
            _textCollected = true;
        }

        if (step.Text.Materialize())
        {
            MarkChanged(step.Text.Part!);
            _textCollected = true;
        }
    }

    /// <summary>Closes the current step: its text, its usage and cost, its finish part.</summary>
    /// <param name="aborted">Whether the turn was aborted: a step cut off before the model said why it stopped finishes as <c>aborted</c>.</param>
    private void FinishStep(bool aborted = false)
    {
        if (_step is not { Finished: false } step)
        {
            return;
        }

        step.Finished = true;
        CollectText();

        TokenUsage usage = default;
        if (step.Usage is { } details)
        {
            usage = UsageAccounting.ToTokenUsage(details);
        }
        else
        {
            LogNoUsage(SessionId, _setup.Model.Info.Reference);
        }

        decimal cost = UsageAccounting.Cost(usage, _setup.Model.Info.Pricing);
        _stats.RecordStep(usage, step.ApiStartedAt);
        _message.Tokens += usage;
        _message.Cost += cost;
        _message.FinishReason = step.FinishReason ?? (aborted ? AbortedFinishReason : step.Calls.Count > 0 ? ChatFinishReason.ToolCalls.Value : ChatFinishReason.Stop.Value);
        var finish = new StepFinishPart { Id = NewPartId(), Tokens = usage, Cost = cost, FinishReason = _message.FinishReason, EndedAt = _time.GetUtcNow() };
        _message.Parts.Add(finish);
        MarkChanged(finish);
        Emit(new StepFinished(SessionId, _message.Id, _stepNumber, usage, cost, finish.FinishReason));
    }

    /// <summary>
    /// Runs the step's tool calls, one after another or (with <see cref="AgentCoreOptions.ParallelToolCalls"/>) together.
    /// Each call is stored as running before it runs, in one write with everything of the message that changed before it
    /// (the step, its calls, the previous call's result); calls that run together are stored as running in one write.
    /// </summary>
    private async Task RunToolsAsync(List<(FunctionCallContent Call, ToolPart Part)> calls, CancellationToken token)
    {
        var tools = StepToolsByName(_step!.Tools);
        calls = await GuardRepeatsAsync(calls).ConfigureAwait(false);
        calls = await HoldForApprovalAsync(calls, tools, token).ConfigureAwait(false);

        if (_options.ParallelToolCalls && calls.Count > 1)
        {
            foreach (var (_, part) in calls)
            {
                MarkRunning(_message, part);
            }

            await WriteChangesAsync().ConfigureAwait(false);
            foreach (var (_, part) in calls)
            {
                Emit(new ToolCallUpdated(SessionId, _message.Id, Snapshot(part)));
            }

            await Task.WhenAll(calls.Select(c => InvokeToolAsync(_message, c.Call, c.Part, tools, token))).ConfigureAwait(false);
        }
        else
        {
            foreach (var (call, part) in calls)
            {
                await RunToolAsync(_message, call, part, tools, token).ConfigureAwait(false);
            }
        }

        if (calls.Count > 0)
        {
            // The results are stored before the next model call, which can take long (a slow model, retries): a tool
            // that returned is never reported as interrupted after a crash, and never run again because of one.
            await WriteChangesAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Runs one call and stores its result in <paramref name="owner"/>, the message holding it (this turn's, or the one that waited for approval).</summary>
    private async Task RunToolAsync(SessionMessage owner, FunctionCallContent call, ToolPart part, IReadOnlyDictionary<string, AIFunction> tools, CancellationToken token)
    {
        MarkRunning(owner, part);
        if (ReferenceEquals(owner, _message))
        {
            await WriteChangesAsync().ConfigureAwait(false);
        }
        else
        {
            await SaveOtherAsync(owner, part).ConfigureAwait(false);
        }

        Emit(new ToolCallUpdated(SessionId, owner.Id, Snapshot(part)));
        await InvokeToolAsync(owner, call, part, tools, token).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves a call to <see cref="ToolState.Running"/>; in this turn's message it is marked changed, so the write that
    /// must precede the call stores it as running.
    /// </summary>
    private void MarkRunning(SessionMessage owner, ToolPart part)
    {
        Interlocked.Increment(ref _toolCalls);
        part.State = ToolState.Running;
        part.StartedAt = _time.GetUtcNow();
        if (ReferenceEquals(owner, _message))
        {
            MarkChanged(part);
        }
    }

    /// <summary>
    /// Invokes a call stored as running and records its outcome: in <paramref name="owner"/> as changed when it is this
    /// turn's message (the next write stores it), else stored at once.
    /// </summary>
    private async Task InvokeToolAsync(SessionMessage owner, FunctionCallContent call, ToolPart part, IReadOnlyDictionary<string, AIFunction> tools, CancellationToken token)
    {
        using var activity = AgentCoreInstrumentation.StartTool(_activity, SessionId, part, tools.GetValueOrDefault(call.Name));
        ToolInvoker.Outcome outcome;
        try
        {
            var work = ToolInvoker.InvokeAsync(call, tools, _runtime.Services, _options.MaxToolOutputBytes, _time, token);
            // A tool that returned at once needs no abort grace period (nor the task waiting for it).
            outcome = work.IsCompletedSuccessfully ? work.Result : await WithAbortGraceAsync(work, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _runtime.Telemetry.EndTool(activity, part, AgentCoreInstrumentation.AbortedErrorType, null, sensitive: false);
            throw;
        }

        CountToolOutcome(outcome.Succeeded);

        part.EndedAt = _time.GetUtcNow();
        outcome.ApplyTo(part);
        if (!outcome.Succeeded)
        {
            LogToolFailed(SessionId, part.ToolName, part.CallId);
        }

        _runtime.Telemetry.EndTool(activity, part, outcome.ErrorType, part.Error, _options.EnableSensitiveTelemetryData);

        await ChangedAsync(owner, part).ConfigureAwait(false);
        Emit(new ToolCallUpdated(SessionId, owner.Id, Snapshot(part)));
    }

    /// <summary>Ends a call that does not run (or was cut off) with <paramref name="error"/>, in <paramref name="owner"/>, the message holding it.</summary>
    private async ValueTask FailToolAsync(SessionMessage owner, ToolPart part, string error)
    {
        part.State = ToolState.Error;
        part.Error = error;
        part.EndedAt = _time.GetUtcNow();
        await ChangedAsync(owner, part).ConfigureAwait(false);
        Emit(new ToolCallUpdated(SessionId, owner.Id, Snapshot(part)));
    }

    /// <summary>
    /// Closes the assistant message on every path — partial text kept, usage so far recorded, open tool calls
    /// closed — then updates the session's totals and the usage history. Failures here are logged; a failure to
    /// persist the completion becomes the turn's failure when it had none.
    /// </summary>
    private async Task<(ExitReason ExitReason, Exception? Failure)> FinishAsync(ExitReason exitReason, Exception? failure)
    {
        try
        {
            FinishStep(aborted: exitReason == ExitReason.Aborted);
            string openToolError = exitReason switch
            {
                _ when exitReason == ExitReason.Aborted => "aborted",
                _ when exitReason == ExitReason.MaxSteps => $"not run: the turn reached its limit of {_options.MaxSteps} steps",
                _ => "not run: the turn failed",
            };
            foreach (var tool in _message.Parts.OfType<ToolPart>().Where(static t => t.State is ToolState.Pending or ToolState.Running))
            {
                tool.State = ToolState.Error;
                tool.Error = openToolError;
                tool.EndedAt = _time.GetUtcNow();
                MarkChanged(tool);
                Emit(new ToolCallUpdated(SessionId, _message.Id, Snapshot(tool)));
            }

            _message.Error = exitReason switch
            {
                _ when _limitError is not null && exitReason != ExitReason.Aborted => _limitError,
                _ when exitReason == ExitReason.Aborted => new MessageError(MessageErrorKind.Aborted, "The turn was aborted."),
                _ when exitReason == ExitReason.MaxSteps => new MessageError(MessageErrorKind.MaxSteps, $"The turn stopped at its limit of {_options.MaxSteps} steps."),
                _ when exitReason == ExitReason.Error && failure is not null => ErrorOf(failure),
                _ => null,
            };
            _message.CompletedAt = _time.GetUtcNow();
            if (_writeFailed)
            {
                // A write failed on the way: what the store holds of the message is unknown, so it is written whole.
                await SaveWholeMessageAsync().ConfigureAwait(false);
            }
            else
            {
                // The parts changed since the last write and the message's own fields (completion, usage, error) in one write.
                await WriteChangesAsync().ConfigureAwait(false);
            }

            _completionSaved = true;
            // The message does not change after this: TurnCompleted carries the same snapshot.
            _completedSnapshot = Snapshot(_message);
            Emit(new MessageUpdated(SessionId, _completedSnapshot));
        }
        catch (Exception ex)
        {
            LogFinishFailed(ex, SessionId);
            if (failure is null)
            {
                (exitReason, failure) = (ExitReason.Error, ex);
            }
        }

        // The usage history's end entry before the totals: should the process die in between, the next load finds the reply
        // missing from the totals, finds this entry, and adds the reply to the totals without a second entry.
        await _historyStarted.ConfigureAwait(false);
        await _runtime.RecordHistoryAsync(HistoryEntry(exitReason)).ConfigureAwait(false);
        try
        {
            // The totals and their checkpoint in one session write: this turn's messages (a summary included) are added.
            // The caller's stream gets the very SessionUpdated subscribers got (with its Sequence); when the totals did not
            // change nothing was published, and the caller's stream still gets the session as it is.
            SessionUpdated? published = null;
            var session = await _runtime.ReconcileTotalsAsync(SessionId, [.. _conversation, _user, _message], e => published = e).ConfigureAwait(false);
            if (published is null && session is not null)
            {
                // Published (numbered) like every event of the turn; the session's stream hands it to the caller's.
                _runtime.Events.Publish(new SessionUpdated(SessionId, session));
            }
        }
        catch (Exception ex)
        {
            LogFinishFailed(ex, SessionId);
        }

        return (exitReason, failure);
    }

    /// <summary>
    /// Keeps the session's conversation and its prompt for the next turn (see <see cref="ConversationCache"/>), stamped
    /// after this turn's last message write: when nothing writes the session's messages before that turn, it neither
    /// reads nor converts them again. Not kept when the turn failed (a write may have failed half way), its completion was
    /// not stored, it compacted the conversation, or the store has no stamp.
    /// </summary>
    private async Task KeepConversationAsync(ExitReason exitReason)
    {
        if (exitReason == ExitReason.Error || !_completionSaved || _compacted || _prompt is null)
        {
            return;
        }

        try
        {
            if (await _runtime.Store.GetMessagesStampAsync(SessionId, CancellationToken.None).ConfigureAwait(false) is not { } stamp)
            {
                return;
            }

            if (_setup.UserParts.Count > 0)
            {
                // A copy: the user's parts came from the request, which the caller still holds.
                _conversation.Add(MessageCopies.Copy(_user));
            }

            _conversation.Add(_message);
            _runtime.Conversations.Keep(SessionId, stamp, new KeptConversation(_conversation, _prompt, _promptParts));
        }
        catch (Exception ex)
        {
            LogKeepFailed(ex, SessionId);
        }
    }

    /// <summary>The turn's start entry (<paramref name="exitReason"/> null) or its end entry.</summary>
    private SessionHistoryEntry HistoryEntry(ExitReason? exitReason) => exitReason is { } end
        ? _runtime.HistoryEntry(SessionId, _setup.Model.Info.ProviderId, _setup.Model.Info.ModelId, end,
            _stats.ToHistoryUsage(), _stats.ToHistoryDuration(), _message.Cost,
            messageCount: _conversation.Count + (_setup.UserParts.Count > 0 ? 2 : 1), toolCallCount: _toolCalls)
        : _runtime.HistoryEntry(SessionId, _setup.Model.Info.ProviderId, _setup.Model.Info.ModelId);

    private ChatOptions ChatOptionsFor(IReadOnlyList<AIFunction> tools)
    {
        var options = _setup.Options?.Clone() ?? new ChatOptions();
        options.ModelId = _setup.Model.Info.ModelId;
        options.MaxOutputTokens ??= _setup.Model.Info.MaxOutputTokens;
        if (_stepNumber >= _options.MaxSteps)
        {
            // The last step answers in text: no tools, and no caller's tool settings that would ask for one.
            options.Tools = null;
            options.ToolMode = null;
            options.AllowMultipleToolCalls = null;
        }
        else if (tools.Count > 0 || options.Tools is { Count: > 0 })
        {
            // Every function is advertised as a declaration only: AgentCore runs the calls (persisting each state),
            // and a FunctionInvokingChatClient in the pipeline passes a declaration's call back instead of running it.
            var all = new List<AITool>((options.Tools?.Count ?? 0) + tools.Count);
            foreach (var tool in options.Tools ?? [])
            {
                all.Add(Advertised(tool));
            }

            all.AddRange(AdvertisedRegistryTools(tools));
            options.Tools = all;
            if (tools.Count > 0)
            {
                options.AllowMultipleToolCalls ??= true;
            }
        }

        return options;
    }

    /// <summary>The registry's tools as advertised; the same list as the previous step's (the registry reuses it while unchanged) is converted once.</summary>
    private AITool[] AdvertisedRegistryTools(IReadOnlyList<AIFunction> tools)
    {
        if (_advertised is not { } cached || !ReferenceEquals(cached.Tools, tools) || cached.Count != tools.Count)
        {
            cached = (tools, tools.Count, [.. tools.Select(Advertised)]);
            _advertised = cached;
        }

        return cached.Advertised;
    }

    private static AITool Advertised(AITool tool) =>
        tool is AIFunction function ? Declarations.GetValue(function, static f => f.AsDeclarationOnly()) : tool;

    private TimeSpan RetryDelay(Exception ex, int attempt)
    {
        if (ModelErrors.RetryAfter(ex, _time.GetUtcNow()) is { } requested)
        {
            if (requested > _options.MaxRetryDelay)
            {
                // Waiting that long inside a turn (holding the session) is not what the app asked for: end it, saying why.
                LogRetryDelayTooLong(SessionId, requested, _options.MaxRetryDelay, ModelErrors.StatusCode(ex));
                throw new RetryDelayTooLongException(requested, _options.MaxRetryDelay, ex);
            }

            return requested;
        }

        // 2 s, 4 s, 8 s ... capped at 30 s (and at MaxRetryDelay), with ±20 % jitter so clients do not retry in step.
        double seconds = Math.Min(2 * Math.Pow(2, attempt - 1), 30);
        double jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
        var backoff = TimeSpan.FromSeconds(Math.Min(seconds * jitter, 30));
        return backoff > _options.MaxRetryDelay ? _options.MaxRetryDelay : backoff;
    }

    private static MessageError ErrorOf(Exception failure)
    {
        int? status = ModelErrors.StatusCode(failure);
        if (ModelErrors.IsContextOverflow(failure))
        {
            return new MessageError(MessageErrorKind.ContextOverflow, failure.Message, status);
        }

        return status is not null
            ? new MessageError(MessageErrorKind.Api, failure.Message, status)
            : new MessageError(MessageErrorKind.Unknown, $"{failure.GetType().Name}: {failure.Message}");
    }

    private static string Describe(Exception ex) =>
        ModelErrors.StatusCode(ex) is { } status ? $"{ex.GetType().Name} (HTTP {status})" : ex.GetType().Name;

    /// <summary>Marks a part of this turn's message as changed since the last write: the next <see cref="WriteChangesAsync"/> stores it.</summary>
    private void MarkChanged(MessagePart part)
    {
        lock (_changedGate)
        {
            foreach (var changed in _changed)
            {
                if (ReferenceEquals(changed, part))
                {
                    return;
                }
            }

            _changed.Add(part);
        }
    }

    /// <summary>
    /// A part of <paramref name="owner"/> changed: this turn's message has it written with its next write; another message
    /// (one whose calls waited for approval) has it stored at once.
    /// </summary>
    private ValueTask ChangedAsync(SessionMessage owner, MessagePart part)
    {
        if (ReferenceEquals(owner, _message))
        {
            MarkChanged(part);
            return ValueTask.CompletedTask;
        }

        return SaveOtherAsync(owner, part);
    }

    /// <summary>Stores one changed part of a message other than this turn's (a call that waited for approval).</summary>
    private ValueTask SaveOtherAsync(SessionMessage owner, MessagePart part) =>
        PersistAsync(() => _runtime.Store.SavePartsAsync(owner, [new MessagePartChange(part)], CancellationToken.None));

    /// <summary>Writes this turn's message whole (its first write, or after a write failed).</summary>
    private async ValueTask SaveWholeMessageAsync()
    {
        await _persistGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            lock (_changedGate)
            {
                _changed.Clear();
            }

            try
            {
                await _runtime.Store.SaveMessageAsync(_message, CancellationToken.None).ConfigureAwait(false);
            }
            catch
            {
                _writeFailed = true;
                throw;
            }

            _writeFailed = false;
            RecordStoredText(_message.Parts);
        }
        finally
        {
            _persistGate.Release();
        }
    }

    /// <summary>
    /// Writes the parts of this turn's message changed since the last write, with the message's own fields, in one
    /// <see cref="ISessionStore.SavePartsAsync"/> call: text already stored is written as the text appended to it. A
    /// failed write leaves the message to be written whole when it completes.
    /// </summary>
    private async ValueTask WriteChangesAsync()
    {
        await _persistGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            MessagePartChange[] changes;
            lock (_changedGate)
            {
                changes = InMessageOrder();
                _changed.Clear();
                _textCollected = false;
            }

            try
            {
                await _runtime.Store.SavePartsAsync(_message, changes, CancellationToken.None).ConfigureAwait(false);
            }
            catch
            {
                _writeFailed = true;
                throw;
            }

            foreach (var change in changes)
            {
                RecordStoredText(change.Part);
            }

            if (_step is { } step)
            {
                step.LastTextPersist = _time.GetTimestamp();
            }
        }
        finally
        {
            _persistGate.Release();
        }
    }

    /// <summary>
    /// The changed parts in the order of the message's parts (the newest are last, so the search starts there), each with
    /// the text appended to it since the last write where the store holds its earlier text.
    /// </summary>
    private MessagePartChange[] InMessageOrder()
    {
        if (_changed.Count == 0)
        {
            return [];
        }

        var parts = new MessagePartChange[_changed.Count];

        var all = _message.Parts;
        int found = 0;
        for (int i = all.Count - 1; i >= 0 && found < parts.Length; i--)
        {
            foreach (var changed in _changed)
            {
                if (ReferenceEquals(changed, all[i]))
                {
                    parts[parts.Length - 1 - found++] = new MessagePartChange(changed, AppendedText(changed));
                    break;
                }
            }
        }

        // Every changed part is one of the message's (parts are never removed during a turn).
        Debug.Assert(found == parts.Length, "a changed part is not in the message");
        return found == parts.Length ? parts : parts[(parts.Length - found)..];
    }

    /// <summary>The text added to a text or reasoning part the store already holds, or null (the part is written whole).</summary>
    private string? AppendedText(MessagePart part)
    {
        string? text = part switch
        {
            TextPart t => t.Text,
            ReasoningPart r => r.Text,
            _ => null,
        };
        return text is not null && _storedText.TryGetValue(part, out int stored) && stored <= text.Length ? text[stored..] : null;
    }

    /// <summary>Remembers how much text of each written text or reasoning part the store holds.</summary>
    private void RecordStoredText(IEnumerable<MessagePart> written)
    {
        foreach (var part in written)
        {
            RecordStoredText(part);
        }
    }

    /// <summary>Remembers how much text of a written part the store holds, when it is a text or reasoning part.</summary>
    private void RecordStoredText(MessagePart part)
    {
        switch (part)
        {
            case TextPart text:
                _storedText[part] = text.Text.Length;
                break;
            case ReasoningPart reasoning:
                _storedText[part] = reasoning.Text.Length;
                break;
        }
    }

    /// <summary>Runs store writes of this turn one at a time, so a later state is never overwritten by an earlier one.</summary>
    private async ValueTask PersistAsync(Func<ValueTask> write)
    {
        await _persistGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await write().ConfigureAwait(false);
        }
        finally
        {
            _persistGate.Release();
        }
    }

    private void Emit(SessionEvent sessionEvent)
    {
        // Publishing assigns the Sequence and writes the event to the caller's stream, which the turn attached to the session.
        if (_events is { } attached)
        {
            attached.Publish(sessionEvent);
        }
        else
        {
            _runtime.Events.Publish(sessionEvent);
        }
    }

    private string NewPartId() => Identifier.Create(IdKind.Part, _time);

    private static SessionMessage Snapshot(SessionMessage message) => message.DeepCopy();

    private static ToolPart Snapshot(ToolPart part) => new()
    {
        Id = part.Id,
        CallId = part.CallId,
        ToolName = part.ToolName,
        Arguments = part.Arguments,
        RawArguments = part.RawArguments,
        State = part.State,
        Output = part.Output,
        Attachments = part.Attachments,
        Metadata = part.Metadata,
        Error = part.Error,
        Approval = part.Approval is { } approval ? new ToolApprovalDecision { Approved = approval.Approved, Reason = approval.Reason, AnsweredAt = approval.AnsweredAt } : null,
        StartedAt = part.StartedAt,
        EndedAt = part.EndedAt,
        Compacted = part.Compacted,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: model call failed with {ErrorType} (status {Status}); retry {Attempt} in {Delay}")]
    private partial void LogRetrying(string sessionId, int attempt, TimeSpan delay, string errorType, int? status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the provider (status {Status}) asked to wait {Delay} before a retry, longer than MaxRetryDelay {MaxRetryDelay}; ending the turn")]
    private partial void LogRetryDelayTooLong(string sessionId, TimeSpan delay, TimeSpan maxRetryDelay, int? status);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId}: the chat client's pipeline answered tool {Tool} (call {CallId}) itself; its result is recorded and the call is not run again")]
    private partial void LogToolResultStreamed(string sessionId, string tool, string callId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: the provider said the prompt is too long; compacting and trying again")]
    private partial void LogCompactingForOverflow(string sessionId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId}: model {Model} reported no usage for a step; it is counted as 0 tokens and $0")]
    private partial void LogNoUsage(string sessionId, string model);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId}: tool {Tool} (call {CallId}) returned an error result")]
    private partial void LogToolFailed(string sessionId, string tool, string callId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the provider streamed an error content (code {Code})")]
    private partial void LogProviderErrorContent(string sessionId, string? code);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId}: reading the store's stamp of the messages failed; the next turn reads them again")]
    private partial void LogKeepFailed(Exception exception, string sessionId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Session {SessionId}: closing the turn failed")]
    private partial void LogFinishFailed(Exception exception, string sessionId);

    /// <summary>The text or reasoning of one step as it streams: the part, all its text, and how much of it is stored.</summary>
    private sealed class StreamedText
    {
        private int _stored;
        private StringBuilder? _builder;

        public MessagePart? Part { get; set; }

        /// <summary>The text streamed so far; made with the first chunk (most tool steps stream none).</summary>
        public StringBuilder Builder => _builder ??= new();

        /// <summary>Copies the text into the part; false when nothing was added since the last call.</summary>
        public bool Materialize()
        {
            if (Part is null || Builder.Length == _stored)
            {
                return false;
            }

            string all = Builder.ToString();
            _stored = all.Length;
            switch (Part)
            {
                case TextPart text:
                    text.Text = all;
                    break;
                case ReasoningPart reasoning:
                    reasoning.Text = all;
                    break;
            }

            return true;
        }

        public bool HasUnsaved => Part is not null && Builder.Length != _stored;
    }

    /// <summary>What one step has produced so far.</summary>
    private sealed class StepState(IReadOnlyList<AIFunction> tools, long apiStartedAt, long startedAt)
    {
        public IReadOnlyList<AIFunction> Tools { get; } = tools;

        public long ApiStartedAt { get; } = apiStartedAt;

        public long LastTextPersist { get; set; } = startedAt;

        public StreamedText Text { get; } = new();

        public StreamedText Reasoning { get; } = new();

        public List<(FunctionCallContent Call, ToolPart Part)> Calls { get; } = [];

        /// <summary>Results that streamed before their call (by call id).</summary>
        public Dictionary<string, FunctionResultContent>? EarlyResults { get; set; }

        /// <summary>Whether the pipeline streamed a result for one of this step's calls: what streams next is its next model call.</summary>
        public bool ResultsStreamed { get; set; }

        public UsageDetails? Usage { get; set; }

        public string? FinishReason { get; set; }

        public bool ProducedOutput { get; set; }

        public bool Finished { get; set; }

        public bool HasUnsavedText => Text.HasUnsaved || Reasoning.HasUnsaved;
    }
}

/// <summary>A turn's stream for a caller that reads only its <see cref="TurnCompleted"/>: every other event is dropped.</summary>
internal sealed class CompletionOnlyWriter(ChannelWriter<SessionEvent> inner) : ChannelWriter<SessionEvent>
{
    public override bool TryWrite(SessionEvent item) => item is not TurnCompleted || inner.TryWrite(item);

    public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => inner.WaitToWriteAsync(cancellationToken);

    public override bool TryComplete(Exception? error = null) => inner.TryComplete(error);
}

/// <summary>What a turn starts from: the session, the model, the user's parts, the conversation so far and the system prompt.</summary>
/// <param name="Session">The session, loaded with its lock held.</param>
/// <param name="Model">The model answering.</param>
/// <param name="UserParts">The user's message.</param>
/// <param name="Conversation">The session's messages before the turn, in its conversation (open ones closed by crash recovery).</param>
/// <param name="SystemPrompt">The system prompt's sections.</param>
/// <param name="Options">The caller's chat options, if any.</param>
/// <param name="Approvals">The calls waiting for approval the turn resolves first: answered by the request, or rejected because the user moved on.</param>
/// <param name="Budget">The request's budgets, overriding the options' ones.</param>
/// <param name="Kept">The conversation and the last prompt the session's previous turn here kept, when <paramref name="Conversation"/> is its.</param>
internal sealed record TurnSetup(
    SessionInfo Session,
    ResolvedModel Model,
    List<MessagePart> UserParts,
    IReadOnlyList<SessionMessage> Conversation,
    IReadOnlyList<string> SystemPrompt,
    ChatOptions? Options,
    IReadOnlyList<PendingApproval>? Approvals = null,
    TurnBudget? Budget = null,
    KeptConversation? Kept = null);
