using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// AgentCore's traces and metrics (see <see cref="AgentCoreTelemetry"/> and <c>docs/observability.md</c>): the one
/// <see cref="ActivitySource"/>, shared by every container as Npgsql's is, and a <see cref="Meter"/> per container,
/// created by the container's <see cref="IMeterFactory"/> when it has one (hosts register it) and owned here otherwise.
/// The engine calls <c>Start…</c> when an operation begins and <c>End…</c> when it ends; spans follow the
/// OpenTelemetry GenAI conventions, contents only when <see cref="AgentCoreOptions.EnableSensitiveTelemetryData"/> is set.
/// </summary>
internal sealed class AgentCoreInstrumentation : IDisposable
{
    public const string InvokeAgent = "invoke_agent";
    public const string ExecuteTool = "execute_tool";
    public const string CompactionOperation = "agentcore.compaction";
    public const string TitleOperation = "agentcore.title";

    private static readonly string? Version = typeof(AgentCoreInstrumentation).Assembly.GetName().Version?.ToString();

    // The bucket boundaries the GenAI conventions advise for these two histograms.
    private static readonly long[] TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
    private static readonly double[] DurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Histogram<long> _tokenUsage;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _turns;
    private readonly Counter<long> _toolCalls;
    private readonly Counter<double> _cost;

    public AgentCoreInstrumentation(IMeterFactory? meterFactory = null)
    {
        if (meterFactory is not null)
        {
            _meter = meterFactory.Create(new MeterOptions(AgentCoreTelemetry.MeterName) { Version = Version });
        }
        else
        {
            _meter = new Meter(AgentCoreTelemetry.MeterName, Version);
            _ownsMeter = true;
        }

        _tokenUsage = _meter.CreateHistogram(
            AgentCoreTelemetry.TokenUsageInstrument, "{token}", "Number of input and output tokens used.",
            tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });
        _duration = _meter.CreateHistogram(
            AgentCoreTelemetry.OperationDurationInstrument, "s", "GenAI operation duration.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _turns = _meter.CreateCounter<long>(AgentCoreTelemetry.TurnsInstrument, "{turn}", "Turns finished, by exit reason.");
        _toolCalls = _meter.CreateCounter<long>(AgentCoreTelemetry.ToolCallsInstrument, "{call}", "Tool calls run, by tool and outcome.");
        _cost = _meter.CreateCounter<double>(AgentCoreTelemetry.CostInstrument, "{USD}", "Cost of turns and compactions in US dollars.");
    }

    /// <summary>The source of every AgentCore span.</summary>
    public static ActivitySource Source { get; } = new(AgentCoreTelemetry.ActivitySourceName, Version);

    /// <summary>Starts the <c>invoke_agent</c> span of a turn, a child of the caller's current span.</summary>
    public static Activity? StartTurn(string sessionId, ResolvedModel model, string agentId)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        // The attributes a sampler may look at are given at creation, as the conventions ask.
        return Source.StartActivity(InvokeAgent, ActivityKind.Internal, default(ActivityContext),
        [
            new(GenAI.OperationName, InvokeAgent),
            new(GenAI.ProviderName, ProviderName(model)),
            new(GenAI.RequestModel, model.Info.ModelId),
            new(GenAI.ConversationId, sessionId),
            new(GenAI.AgentId, agentId),
        ]);
    }

    /// <summary>Completes a turn's span and records its metrics: the usage and cost stored on its message.</summary>
    public void EndTurn(
        Activity? activity, ResolvedModel model, SessionMessage message, ExitReason exitReason, Exception? failure,
        int steps, int toolCalls, TimeSpan duration, IReadOnlyList<MessagePart>? sensitiveInput)
    {
        string? errorType = exitReason == ExitReason.Error ? ErrorType(failure) : null;
        if (activity is { IsAllDataRequested: true })
        {
            SetUsage(activity, message.Tokens);
            if (message.FinishReason is { } finish)
            {
                activity.SetTag(GenAI.ResponseFinishReasons, new[] { finish });
            }

            activity.SetTag(Agent.ExitReason, exitReason.Value);
            activity.SetTag(Agent.Cost, (double)message.Cost);
            activity.SetTag(Agent.Steps, steps);
            activity.SetTag(Agent.ToolCalls, toolCalls);
            activity.SetTag(Agent.MessageId, message.Id);
            if (sensitiveInput is not null)
            {
                activity.SetTag(GenAI.InputMessages, TelemetryContent.Messages("user", sensitiveInput, finishReason: null));
                activity.SetTag(GenAI.OutputMessages, TelemetryContent.Messages("assistant", message.Parts, message.FinishReason));
            }

            SetError(activity, errorType, failure);
        }

        if (!_tokenUsage.Enabled && !_duration.Enabled && !_cost.Enabled && !_turns.Enabled)
        {
            return; // nobody listens to the meter: build no tags
        }

        var tags = MetricTags(InvokeAgent, model);
        RecordUsage(tags, message.Tokens);
        RecordDuration(tags, duration, errorType);
        if (message.Cost != 0)
        {
            _cost.Add((double)message.Cost, tags);
        }

        var turnTags = tags;
        turnTags.Add(Agent.ExitReason, exitReason.Value);
        _turns.Add(1, turnTags);
    }

    /// <summary>Starts the <c>execute_tool {name}</c> span of one tool call, a child of the turn's span.</summary>
    public static Activity? StartTool(Activity? turn, string sessionId, ToolPart part, AIFunction? function)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity($"{ExecuteTool} {part.ToolName}", ActivityKind.Internal, turn?.Context ?? default,
        [
            new(GenAI.OperationName, ExecuteTool),
            new(GenAI.ToolName, part.ToolName),
        ]);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(GenAI.ToolCallId, part.CallId);
            activity.SetTag(GenAI.ToolType, ToolType(function));
            activity.SetTag(GenAI.ConversationId, sessionId);
            if (!string.IsNullOrEmpty(function?.Description))
            {
                activity.SetTag(GenAI.ToolDescription, function.Description);
            }
        }

        return activity;
    }

    /// <summary>Completes a tool call's span and counts it; <paramref name="errorType"/> null means the tool succeeded.</summary>
    public void EndTool(Activity? activity, ToolPart part, string? errorType, string? errorMessage, bool sensitive)
    {
        if (activity is { IsAllDataRequested: true })
        {
            if (sensitive)
            {
                activity.SetTag(GenAI.ToolCallArguments, TelemetryContent.Arguments(part));
                if (errorType is null)
                {
                    activity.SetTag(GenAI.ToolCallResult, part.Output);
                }
            }

            if (errorType is not null)
            {
                activity.SetTag(Error.Type, errorType);
                activity.SetStatus(ActivityStatusCode.Error, sensitive ? errorMessage : null);
            }
        }

        if (!_toolCalls.Enabled)
        {
            return;
        }

        string outcome = errorType is null ? "completed" : errorType == AbortedErrorType ? "aborted" : "error";
        _toolCalls.Add(1, new KeyValuePair<string, object?>(GenAI.ToolName, part.ToolName), new KeyValuePair<string, object?>(Agent.ToolOutcome, outcome));
    }

    /// <summary>The <c>error.type</c> of a tool call stopped by the turn's abort.</summary>
    public const string AbortedErrorType = "aborted";

    /// <summary>Starts the span of a model call AgentCore makes for itself (<see cref="CompactionOperation"/>, <see cref="TitleOperation"/>).</summary>
    public static Activity? StartModelOperation(string operation, string sessionId, ResolvedModel model)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        return Source.StartActivity(operation, ActivityKind.Internal, default(ActivityContext),
        [
            new(GenAI.OperationName, operation),
            new(GenAI.ProviderName, ProviderName(model)),
            new(GenAI.RequestModel, model.Info.ModelId),
            new(GenAI.ConversationId, sessionId),
        ]);
    }

    /// <summary>
    /// Completes the span of a compaction or title call and records its metrics. <paramref name="cost"/> is what was
    /// added to the session's totals (null: not priced, as titles are); <paramref name="sensitiveOutput"/> the text
    /// the model wrote, recorded only when contents are enabled.
    /// </summary>
    public void EndModelOperation(
        Activity? activity, string operation, ResolvedModel model, TokenUsage usage, decimal? cost, Exception? failure,
        TimeSpan duration, string? sensitiveOutput, string? finishReason = null)
    {
        string? errorType = failure is null ? null : ErrorType(failure);
        if (activity is { IsAllDataRequested: true })
        {
            SetUsage(activity, usage);
            if (cost is { } c)
            {
                activity.SetTag(Agent.Cost, (double)c);
            }

            if (sensitiveOutput is not null)
            {
                activity.SetTag(GenAI.OutputMessages, TelemetryContent.Messages("assistant", [new TextPart { Id = "", Text = sensitiveOutput }], finishReason));
            }

            SetError(activity, errorType, failure);
        }

        var tags = MetricTags(operation, model);
        RecordUsage(tags, usage);
        RecordDuration(tags, duration, errorType);
        if (cost is { } spent && spent != 0)
        {
            _cost.Add((double)spent, tags);
        }
    }

    /// <summary>Marks a span failed by an exception that escaped the operation.</summary>
    public static void SetFailed(Activity? activity, Exception exception)
    {
        if (activity is { IsAllDataRequested: true })
        {
            SetError(activity, ErrorType(exception), exception);
        }
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    /// <summary>The provider as the client names itself (<see cref="ChatClientMetadata.ProviderName"/>, e.g. <c>openai</c>), else the registered provider id.</summary>
    private static string ProviderName(ResolvedModel model) =>
        model.ChatClient.GetService<ChatClientMetadata>()?.ProviderName is { Length: > 0 } name ? name : model.Info.ProviderId;

    // Through GetService: an MCP tool of a server with RequireApproval is wrapped in an ApprovalRequiredAIFunction.
    private static string ToolType(AIFunction? function) => function?.GetService<McpToolFunction>() is not null ? "extension" : "function";

    private static string ErrorType(Exception? failure) =>
        failure switch
        {
            null => "_OTHER",
            OperationCanceledException => AbortedErrorType,
            _ => failure.GetType().FullName ?? "_OTHER",
        };

    private static void SetError(Activity activity, string? errorType, Exception? failure)
    {
        if (errorType is null)
        {
            return;
        }

        activity.SetTag(Error.Type, errorType);
        activity.SetStatus(ActivityStatusCode.Error, failure?.Message);
    }

    private static void SetUsage(Activity activity, TokenUsage usage)
    {
        // The conventions count cached input inside input_tokens, and cache reads and writes again on their own.
        activity.SetTag(GenAI.UsageInputTokens, usage.TotalInput);
        activity.SetTag(GenAI.UsageOutputTokens, usage.Output);
        activity.SetTag(GenAI.UsageCacheReadInputTokens, usage.CacheRead);
        activity.SetTag(GenAI.UsageCacheCreationInputTokens, usage.CacheWrite);
        if (usage.Reasoning != 0)
        {
            activity.SetTag(Agent.ReasoningTokens, usage.Reasoning);
        }
    }

    private static TagList MetricTags(string operation, ResolvedModel model) => new()
    {
        { GenAI.OperationName, operation },
        { GenAI.ProviderName, ProviderName(model) },
        { GenAI.RequestModel, model.Info.ModelId },
    };

    private void RecordUsage(TagList tags, TokenUsage usage)
    {
        if (!_tokenUsage.Enabled || usage == default)
        {
            return;
        }

        var input = tags;
        input.Add(GenAI.TokenType, "input");
        _tokenUsage.Record(usage.TotalInput, input);
        var output = tags;
        output.Add(GenAI.TokenType, "output");
        _tokenUsage.Record(usage.Output, output);
    }

    private void RecordDuration(TagList tags, TimeSpan duration, string? errorType)
    {
        if (errorType is not null)
        {
            tags.Add(Error.Type, errorType);
        }

        _duration.Record(duration.TotalSeconds, tags);
    }

    internal static class GenAI
    {
        public const string OperationName = "gen_ai.operation.name";
        public const string ProviderName = "gen_ai.provider.name";
        public const string RequestModel = "gen_ai.request.model";
        public const string ConversationId = "gen_ai.conversation.id";
        public const string AgentId = "gen_ai.agent.id";
        public const string ResponseFinishReasons = "gen_ai.response.finish_reasons";
        public const string UsageInputTokens = "gen_ai.usage.input_tokens";
        public const string UsageOutputTokens = "gen_ai.usage.output_tokens";
        public const string UsageCacheReadInputTokens = "gen_ai.usage.cache_read.input_tokens";
        public const string UsageCacheCreationInputTokens = "gen_ai.usage.cache_creation.input_tokens";
        public const string InputMessages = "gen_ai.input.messages";
        public const string OutputMessages = "gen_ai.output.messages";
        public const string ToolName = "gen_ai.tool.name";
        public const string ToolCallId = "gen_ai.tool.call.id";
        public const string ToolType = "gen_ai.tool.type";
        public const string ToolDescription = "gen_ai.tool.description";
        public const string ToolCallArguments = "gen_ai.tool.call.arguments";
        public const string ToolCallResult = "gen_ai.tool.call.result";
        public const string TokenType = "gen_ai.token.type";
    }

    internal static class Error
    {
        public const string Type = "error.type";
    }

    internal static class Agent
    {
        public const string ExitReason = "agentcore.exit_reason";
        public const string Cost = "agentcore.cost";
        public const string Steps = "agentcore.steps";
        public const string ToolCalls = "agentcore.tool_calls";
        public const string MessageId = "agentcore.message.id";
        public const string ReasoningTokens = "agentcore.usage.reasoning_tokens";
        public const string ToolOutcome = "agentcore.tool.outcome";
    }
}
