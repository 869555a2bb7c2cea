using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// A Microsoft Agent Framework <see cref="AIAgent"/> whose runs are AgentCore turns: each
/// <see cref="AIAgent.RunAsync(IEnumerable{ChatMessage}, AgentSession?, AgentRunOptions?, CancellationToken)"/> or
/// <see cref="AIAgent.RunStreamingAsync(IEnumerable{ChatMessage}, AgentSession?, AgentRunOptions?, CancellationToken)"/>
/// is one <see cref="ISessionService.ChatStreamingAsync"/> in the AgentCore session the <see cref="AgentCoreAgentSession"/> names.
/// </summary>
/// <remarks>
/// <para>Everything a turn does is AgentCore's: the session's conversation is loaded from and persisted to the
/// <see cref="ISessionStore"/> as it streams; tools come from AgentCore's registry (local functions and MCP servers) and
/// run in AgentCore's loop; compaction, the generated title, usage and cost are AgentCore's. A session running another
/// turn fails the run, without waiting for it, with <see cref="SessionBusyException"/>; cancelling the run's token, or
/// <see cref="ISessionService.Abort"/>, aborts the turn (the partial reply is kept and closed).</para>
/// <para>The response carries the turn's messages as chat messages (text, reasoning, tool calls and their results), its
/// <see cref="AgentResponse.Usage"/>, and, in <see cref="AgentResponse.AdditionalProperties"/>, the keys of
/// <see cref="AgentCoreAgentProperties"/>: session id, message id, cost in USD, exit reason and model.
/// <see cref="AgentResponse.ResponseId"/> is the id of the stored assistant message.</para>
/// <para>Input messages must be user messages (text, <see cref="DataContent"/>, <see cref="UriContent"/>): the system
/// prompt is AgentCore's (<see cref="AgentCoreOptions.SystemPrompt"/>) and the conversation is the session's.</para>
/// </remarks>
public sealed class AgentCoreAgent : AIAgent
{
    private static readonly AIAgentMetadata Metadata = new("agentcore");

    private readonly ISessionService _sessions;
    private readonly AgentCoreAgentOptions _options;

    /// <summary>Creates an agent over <paramref name="sessions"/>.</summary>
    /// <param name="sessions">The session service (from <c>AddAgentCore</c>).</param>
    /// <param name="options">The agent's settings; null for the defaults. Copied: later changes do not apply.</param>
    /// <exception cref="ArgumentNullException"><paramref name="sessions"/> is null.</exception>
    /// <exception cref="ArgumentException"><see cref="AgentCoreAgentOptions.Model"/> is not of the form <c>provider/model</c>.</exception>
    public AgentCoreAgent(ISessionService sessions, AgentCoreAgentOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        _sessions = sessions;
        _options = new AgentCoreAgentOptions
        {
            Id = options?.Id,
            Name = options?.Name,
            Description = options?.Description,
            Model = ValidateModel(options?.Model, nameof(options)),
            ChatOptions = options?.ChatOptions?.Clone(),
            SessionMetadata = options?.SessionMetadata is { } metadata ? new Dictionary<string, string>(metadata, StringComparer.Ordinal) : null,
        };
    }

    /// <inheritdoc />
    protected override string? IdCore => _options.Id;

    /// <inheritdoc />
    public override string? Name => _options.Name;

    /// <inheritdoc />
    public override string? Description => _options.Description;

    /// <summary>Reads the AgentCore session behind <paramref name="session"/>: its title (generated after the first run), totals and metadata.</summary>
    /// <param name="session">A session of this agent.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The session as stored now.</returns>
    /// <exception cref="ArgumentException"><paramref name="session"/> is not an <see cref="AgentCoreAgentSession"/>.</exception>
    /// <exception cref="SessionNotFoundException">The session was deleted.</exception>
    public Task<SessionInfo> GetSessionInfoAsync(AgentSession session, CancellationToken cancellationToken = default) =>
        _sessions.GetAsync(AsAgentCoreSession(session).SessionId, cancellationToken);

    /// <summary>
    /// Returns an <see cref="AgentCoreAgentSession"/> for an existing AgentCore session, for example one listed by
    /// <see cref="ISessionService.ListAsync(CancellationToken)"/>.
    /// </summary>
    /// <param name="sessionId">The AgentCore session id.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The session.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    /// <exception cref="SessionNotFoundException">There is no such session.</exception>
    public async ValueTask<AgentCoreAgentSession> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        var info = await _sessions.GetAsync(sessionId, cancellationToken).ConfigureAwait(false);
        return new AgentCoreAgentSession(info.Id);
    }

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is null)
        {
            if (serviceType == typeof(AIAgentMetadata))
            {
                return Metadata;
            }

            if (serviceType == typeof(ISessionService))
            {
                return _sessions;
            }
        }

        return base.GetService(serviceType, serviceKey);
    }

    /// <summary>Creates an AgentCore session (persisted at once, with <see cref="AgentCoreAgentOptions.SessionMetadata"/>) and returns it.</summary>
    /// <param name="cancellationToken">Cancels the creation.</param>
    /// <returns>An <see cref="AgentCoreAgentSession"/>.</returns>
    protected override async ValueTask<AgentSession> CreateSessionCoreAsync(CancellationToken cancellationToken = default)
    {
        var info = await _sessions.CreateAsync(new CreateSessionRequest { Metadata = _options.SessionMetadata }, cancellationToken).ConfigureAwait(false);
        return new AgentCoreAgentSession(info.Id);
    }

    /// <summary>Serializes <paramref name="session"/> to <c>{"sessionId":"ses_…"}</c>, with its state bag when that holds anything.</summary>
    /// <param name="session">An <see cref="AgentCoreAgentSession"/>.</param>
    /// <param name="jsonSerializerOptions">Not used: the format is fixed.</param>
    /// <param name="cancellationToken">Not used: nothing is read.</param>
    /// <returns>The serialized session.</returns>
    /// <exception cref="ArgumentException"><paramref name="session"/> is not an <see cref="AgentCoreAgentSession"/>.</exception>
    protected override ValueTask<JsonElement> SerializeSessionCoreAsync(AgentSession session, JsonSerializerOptions? jsonSerializerOptions = null, CancellationToken cancellationToken = default)
    {
        var agentSession = AsAgentCoreSession(session);
        var state = new SerializedAgentSession(agentSession.SessionId, agentSession.StateBag.Count > 0 ? agentSession.StateBag.Serialize() : null);
        return ValueTask.FromResult(JsonSerializer.SerializeToElement(state, AgentFrameworkJsonContext.Default.SerializedAgentSession));
    }

    /// <summary>Reads a session serialized by <see cref="AIAgent.SerializeSessionAsync"/> and checks that the AgentCore session exists.</summary>
    /// <param name="serializedState">The serialized session.</param>
    /// <param name="jsonSerializerOptions">Not used: the format is fixed.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>An <see cref="AgentCoreAgentSession"/> for the same AgentCore session.</returns>
    /// <exception cref="ArgumentException"><paramref name="serializedState"/> is not a serialized AgentCore session, or its id is invalid.</exception>
    /// <exception cref="SessionNotFoundException">The session no longer exists.</exception>
    protected override async ValueTask<AgentSession> DeserializeSessionCoreAsync(JsonElement serializedState, JsonSerializerOptions? jsonSerializerOptions = null, CancellationToken cancellationToken = default)
    {
        SerializedAgentSession? state;
        try
        {
            state = serializedState.ValueKind == JsonValueKind.Object
                ? serializedState.Deserialize(AgentFrameworkJsonContext.Default.SerializedAgentSession)
                : null;
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"The serialized session is not an AgentCore session: {ex.Message}", nameof(serializedState), ex);
        }

        if (state?.SessionId is not { } sessionId)
        {
            throw new ArgumentException("The serialized session has no 'sessionId': it was not written by an AgentCoreAgent.", nameof(serializedState));
        }

        AgentCoreIds.ThrowIfInvalidSessionId(sessionId, nameof(serializedState));
        var info = await _sessions.GetAsync(sessionId, cancellationToken).ConfigureAwait(false);
        var stateBag = state.StateBag is { ValueKind: JsonValueKind.Object } bag ? AgentSessionStateBag.Deserialize(bag) : null;
        return new AgentCoreAgentSession(info.Id, stateBag);
    }

    /// <summary>Runs one AgentCore turn and returns its reply.</summary>
    /// <param name="messages">The user's input: user messages only.</param>
    /// <param name="session">The session; null to create one (its id is in the response's <see cref="AgentCoreAgentProperties.SessionId"/>).</param>
    /// <param name="options">Run options; an <see cref="AgentCoreAgentRunOptions"/> also sets the model and chat options.</param>
    /// <param name="cancellationToken">Aborts the turn.</param>
    /// <returns>The reply: the stored assistant message as chat messages, usage, and AgentCore's properties.</returns>
    /// <exception cref="ArgumentException">A message is not a user message, the input has no content, or <paramref name="session"/> is not an <see cref="AgentCoreAgentSession"/>.</exception>
    /// <exception cref="SessionBusyException">The session is running another turn.</exception>
    /// <exception cref="SessionNotFoundException">The session was deleted.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    protected override async Task<AgentResponse> RunCoreAsync(IEnumerable<ChatMessage> messages, AgentSession? session = null, AgentRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (sessionId, request) = await PrepareAsync(messages, session, options, cancellationToken).ConfigureAwait(false);
        TurnCompleted? completed = null;
        await foreach (var sessionEvent in _sessions.ChatStreamingAsync(request, cancellationToken).ConfigureAwait(false))
        {
            if (sessionEvent is TurnCompleted turn)
            {
                completed = turn;
            }
        }

        if (completed is null)
        {
            throw new InvalidOperationException($"The turn in session '{sessionId}' ended without completing its message.");
        }

        var message = completed.Message;
        return new AgentResponse(message.ToChatMessages(includeReasoning: true))
        {
            AgentId = Id,
            ResponseId = message.Id,
            CreatedAt = message.CreatedAt,
            FinishReason = FinishReasonOf(message),
            Usage = UsageDetailsOf(message.Tokens),
            RawRepresentation = message,
            AdditionalProperties = PropertiesOf(completed),
        };
    }

    /// <summary>Runs one AgentCore turn and streams it: text, reasoning, tool calls and results, usage per step, and a last update with AgentCore's properties.</summary>
    /// <param name="messages">The user's input: user messages only.</param>
    /// <param name="session">The session; null to create one.</param>
    /// <param name="options">Run options; an <see cref="AgentCoreAgentRunOptions"/> also sets the model and chat options.</param>
    /// <param name="cancellationToken">Aborts the turn.</param>
    /// <returns>The updates; each carries the <see cref="SessionEvent"/> it came from as its <see cref="AgentResponseUpdate.RawRepresentation"/>.</returns>
    /// <exception cref="ArgumentException">A message is not a user message, the input has no content, or <paramref name="session"/> is not an <see cref="AgentCoreAgentSession"/>.</exception>
    /// <exception cref="SessionBusyException">The session is running another turn (on the first move).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    protected override async IAsyncEnumerable<AgentResponseUpdate> RunCoreStreamingAsync(
        IEnumerable<ChatMessage> messages, AgentSession? session = null, AgentRunOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (_, request) = await PrepareAsync(messages, session, options, cancellationToken).ConfigureAwait(false);
        var announcedCalls = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var sessionEvent in _sessions.ChatStreamingAsync(request, cancellationToken).ConfigureAwait(false))
        {
            switch (sessionEvent)
            {
                case TextDelta text:
                    yield return Update(ChatRole.Assistant, text.MessageId, new TextContent(text.Text), sessionEvent);
                    break;
                case ReasoningDelta reasoning:
                    yield return Update(ChatRole.Assistant, reasoning.MessageId, new TextReasoningContent(reasoning.Text), sessionEvent);
                    break;
                case ToolCallUpdated { Part: var part } tool:
                    if (announcedCalls.Add(part.CallId))
                    {
                        yield return Update(ChatRole.Assistant, tool.MessageId, CallOf(part), sessionEvent);
                    }

                    if (part.State is ToolState.Completed or ToolState.Error)
                    {
                        // Results form a tool message of their own, as in a prompt.
                        yield return Update(ChatRole.Tool, tool.MessageId + ToolMessageSuffix, ResultOf(part), sessionEvent);
                    }

                    break;
                case StepFinished step:
                    yield return Update(ChatRole.Assistant, step.MessageId, new UsageContent(UsageDetailsOf(step.Tokens)), sessionEvent);
                    break;
                case TurnCompleted completed:
                    yield return new AgentResponseUpdate(ChatRole.Assistant, (IList<AIContent>?)null)
                    {
                        AgentId = Id,
                        ResponseId = completed.Message.Id,
                        MessageId = completed.Message.Id,
                        CreatedAt = completed.Message.CompletedAt,
                        FinishReason = FinishReasonOf(completed.Message),
                        AdditionalProperties = PropertiesOf(completed),
                        RawRepresentation = sessionEvent,
                    };
                    break;
            }
        }
    }

    private const string ToolMessageSuffix = "-tools";

    private AgentResponseUpdate Update(ChatRole role, string messageId, AIContent content, SessionEvent sessionEvent) =>
        new(role, [content])
        {
            AgentId = Id,
            MessageId = messageId,
            RawRepresentation = sessionEvent,
        };

    private async ValueTask<(string SessionId, ChatRequest Request)> PrepareAsync(
        IEnumerable<ChatMessage> messages, AgentSession? session, AgentRunOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var contents = new List<AIContent>();
        foreach (var message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            if (message.Role != ChatRole.User)
            {
                throw new ArgumentException(
                    $"AgentCoreAgent takes user messages only, not '{message.Role}': the system prompt is AgentCoreOptions.SystemPrompt and the conversation is the session's.",
                    nameof(messages));
            }

            contents.AddRange(message.Contents);
        }

        if (contents.Count == 0)
        {
            throw new ArgumentException("The run has no input: pass a user message with text or files.", nameof(messages));
        }

        string? model = _options.Model;
        var chatOptions = _options.ChatOptions;
        if (options is AgentCoreAgentRunOptions own)
        {
            model = ValidateModel(own.Model, nameof(options)) ?? model;
            chatOptions = own.ChatOptions ?? chatOptions;
        }

        // One copy per run: the run's ResponseFormat goes on it, and the turn shares neither the agent's options nor the caller's.
        var requestOptions = chatOptions?.Clone();
        if (options?.ResponseFormat is { } format)
        {
            requestOptions ??= new ChatOptions();
            requestOptions.ResponseFormat = format;
        }

        var agentSession = session is null
            ? (AgentCoreAgentSession)await CreateSessionAsync(cancellationToken).ConfigureAwait(false)
            : AsAgentCoreSession(session);

        return (agentSession.SessionId, new ChatRequest
        {
            SessionId = agentSession.SessionId,
            Contents = contents,
            Model = model,
            Options = requestOptions,
        });
    }

    private static AgentCoreAgentSession AsAgentCoreSession(AgentSession session, [CallerArgumentExpression(nameof(session))] string? paramName = null)
    {
        ArgumentNullException.ThrowIfNull(session, paramName);
        return session as AgentCoreAgentSession ?? throw new ArgumentException(
            $"The session is a {session.GetType().Name}, not an AgentCoreAgentSession: create it with this agent's CreateSessionAsync or DeserializeSessionAsync.",
            paramName);
    }

    private static string? ValidateModel(string? model, string paramName)
    {
        if (model is not null)
        {
            int slash = model.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || slash == model.Length - 1)
            {
                throw new ArgumentException($"The model '{model}' is not of the form 'provider/model'.", paramName);
            }
        }

        return model;
    }

    private static FunctionCallContent CallOf(ToolPart part)
    {
        Dictionary<string, object?>? arguments = null;
        if (part.Arguments is { ValueKind: JsonValueKind.Object } json)
        {
            arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var property in json.EnumerateObject())
            {
                arguments[property.Name] = property.Value.Clone();
            }
        }

        return new FunctionCallContent(part.CallId, part.ToolName, arguments);
    }

    private static FunctionResultContent ResultOf(ToolPart part) =>
        new(part.CallId, part.State == ToolState.Completed ? part.Output ?? "" : "Error: " + (part.Error ?? "the tool failed"));

    private static ChatFinishReason? FinishReasonOf(SessionMessage message) =>
        message.FinishReason is { Length: > 0 } reason ? new ChatFinishReason(reason) : null;

    private static UsageDetails UsageDetailsOf(TokenUsage tokens)
    {
        // Microsoft.Extensions.AI counts cached input inside the input count; AgentCore keeps the buckets apart.
        var details = new UsageDetails
        {
            InputTokenCount = tokens.TotalInput,
            OutputTokenCount = tokens.Output,
            TotalTokenCount = tokens.Total,
            CachedInputTokenCount = tokens.CacheRead,
            ReasoningTokenCount = tokens.Reasoning,
        };
        if (tokens.CacheWrite > 0)
        {
            details.AdditionalCounts = new() { ["CacheCreationInputTokens"] = tokens.CacheWrite };
        }

        return details;
    }

    private static AdditionalPropertiesDictionary PropertiesOf(TurnCompleted completed)
    {
        var message = completed.Message;
        var properties = new AdditionalPropertiesDictionary
        {
            [AgentCoreAgentProperties.SessionId] = completed.SessionId,
            [AgentCoreAgentProperties.MessageId] = message.Id,
            [AgentCoreAgentProperties.Cost] = message.Cost,
            [AgentCoreAgentProperties.ExitReason] = completed.ExitReason.Value,
        };
        if (message.ProviderId is { } provider && message.ModelId is { } model)
        {
            properties[AgentCoreAgentProperties.Model] = provider + "/" + model;
        }

        return properties;
    }
}
