using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>
/// Context management: when a session needs compacting, pruning old tool outputs, and writing summaries with the
/// model. Prompts start from the latest summary (see <see cref="PromptBuilder"/>). See <c>docs/compaction.md</c>.
/// </summary>
internal sealed partial class Compaction
{
    private readonly SessionRuntime _runtime;
    private readonly AgentCoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public Compaction(SessionRuntime runtime, ILogger logger)
    {
        _runtime = runtime;
        _options = runtime.Options;
        _time = runtime.Time;
        _logger = logger;
    }

    /// <summary>
    /// Whether the last reply used more than <paramref name="threshold"/> of the usable window
    /// (context window − max output): its last step's input, cache and output tokens as the provider reported them.
    /// </summary>
    public static bool ShouldCompact(IReadOnlyList<SessionMessage> messages, ModelInfo model, double threshold) =>
        LastReplyTokens(messages) is { } tokens && tokens > UsableWindow(model) * threshold;

    /// <summary>The tokens the newest reply's last step reported (after the latest summary), or null when there is none or it reported none.</summary>
    public static long? LastReplyTokens(IReadOnlyList<SessionMessage> messages)
    {
        for (int i = messages.Count - 1; i >= 0; i--)
        {
            var message = messages[i];
            if (message.IsSummary)
            {
                return null;
            }

            if (message.Role == ChatRole.Assistant)
            {
                // The context the model last saw: the last step's input, cache and output (a turn's steps each
                // re-read the context, so the message's summed tokens would overstate it).
                long tokens = message.Parts.OfType<StepFinishPart>().LastOrDefault()?.Tokens.Total ?? message.Tokens.Total;
                return tokens > 0 ? tokens : null;
            }
        }

        return null;
    }

    private static double UsableWindow(ModelInfo model) => Math.Max(0, model.ContextWindow - model.MaxOutputTokens);

    /// <summary>
    /// Compacts a session: prunes old tool outputs, then summarizes the messages since the previous summary
    /// (folded in) up to, not including, <paramref name="keepFromId"/> (null: all of them).
    /// Returns null when there is nothing to summarize.
    /// </summary>
    /// <exception cref="AgentCoreException">The summary request itself does not fit the model ("session too large to compact"); nothing was deleted.</exception>
    public async Task<SessionMessage?> CompactAsync(
        SessionInfo session, ResolvedModel model, IReadOnlyList<SessionMessage> messages, string? keepFromId,
        Action<SessionEvent> publish, CancellationToken cancellationToken)
    {
        var covered = messages.Where(m => keepFromId is null || string.CompareOrdinal(m.Id, keepFromId) < 0).ToList();
        int previous = PromptBuilder.LastSummaryIndex(covered);
        if (!covered.Skip(previous + 1).Any(static m => m.Role != ChatRole.System && !m.IsSummary))
        {
            return null;
        }

        var prompt = new List<ChatMessage>();
        PromptBuilder.AppendConversation(messages, prompt);
        long before = LastReplyTokens(messages) ?? TokenEstimator.Count(prompt);
        publish(new CompactionStarted(session.Id, before));

        using var activity = AgentCoreInstrumentation.StartModelOperation(AgentCoreInstrumentation.CompactionOperation, session.Id, model);
        long startedAt = _time.GetTimestamp();
        SessionMessage summary;
        try
        {
            await PruneAsync(covered.Skip(previous + 1).ToList(), cancellationToken).ConfigureAwait(false);
            summary = await SummarizeAsync(session, model, covered, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _runtime.Telemetry.EndModelOperation(activity, AgentCoreInstrumentation.CompactionOperation, model, default, null, ex, _time.GetElapsedTime(startedAt), null);
            throw;
        }

        _runtime.Telemetry.EndModelOperation(activity, AgentCoreInstrumentation.CompactionOperation, model, summary.Tokens, summary.Cost, null,
            _time.GetElapsedTime(startedAt), _options.EnableSensitiveTelemetryData ? summary.Text : null, summary.FinishReason);
        publish(new MessageUpdated(session.Id, summary));

        var after = new List<ChatMessage>();
        PromptBuilder.AppendConversation([.. messages, summary], after);
        long estimateAfter = TokenEstimator.Count(after);
        publish(new CompactionFinished(session.Id, before, estimateAfter));
        LogCompacted(session.Id, before, estimateAfter);
        return summary;
    }

    /// <summary>
    /// Marks the outputs of old tool calls <see cref="ToolPart.Compacted"/> — every completed output older than the
    /// newest <see cref="AgentCoreOptions.PruneProtectedTokens"/> estimated tokens of tool output — and persists the
    /// messages changed. Prompts then carry a placeholder; the stored output is kept. A call and its result stay
    /// together: only the output text is replaced.
    /// </summary>
    public async Task<int> PruneAsync(IReadOnlyList<SessionMessage> messages, CancellationToken cancellationToken)
    {
        long protectedTokens = 0;
        int pruned = 0;
        for (int i = messages.Count - 1; i >= 0; i--)
        {
            bool changed = false;
            var tools = messages[i].Parts.OfType<ToolPart>().Reverse();
            foreach (var tool in tools)
            {
                if (tool.Compacted || tool.State != ToolState.Completed || string.IsNullOrEmpty(tool.Output))
                {
                    continue;
                }

                protectedTokens += TokenEstimator.Count(tool.Output);
                if (protectedTokens > _options.PruneProtectedTokens)
                {
                    tool.Compacted = true;
                    changed = true;
                    pruned++;
                }
            }

            if (changed)
            {
                await _runtime.Store.SaveMessageAsync(messages[i], cancellationToken).ConfigureAwait(false);
            }
        }

        if (pruned > 0)
        {
            LogPruned(messages[0].SessionId, pruned);
        }

        return pruned;
    }

    /// <summary>
    /// Writes the summary of <paramref name="covered"/> with the model and stores it as an assistant message flagged
    /// <see cref="SessionMessage.IsSummary"/>, with its usage and cost. The caller adds it to the session's totals (the turn
    /// when it ends, <c>SummarizeAsync</c> at once) through <see cref="SessionRuntime.ReconcileTotalsAsync"/>.
    /// </summary>
    private async Task<SessionMessage> SummarizeAsync(SessionInfo session, ResolvedModel model, List<SessionMessage> covered, CancellationToken cancellationToken)
    {
        var request = new List<ChatMessage> { new(ChatRole.System, PromptTemplates.Load("summary.txt")) };
        PromptBuilder.AppendConversation(covered, request);
        request.Add(new ChatMessage(ChatRole.User, "Write the summary of the conversation so far now, as the system message asks."));
        var options = new ChatOptions { ModelId = model.Info.ModelId, MaxOutputTokens = model.Info.MaxOutputTokens };

        var created = _time.GetUtcNow();
        ChatResponse response;
        try
        {
            response = await model.ChatClient.GetResponseAsync(request, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ModelErrors.IsContextOverflow(ex))
        {
            throw new AgentCoreException(
                $"Session '{session.Id}' is too large to compact: even the summary request does not fit the context window of '{model.Info.Reference}'. " +
                "Nothing was deleted. Summarize with a model that has a larger context window, or start a new session.", ex);
        }

        var usage = response.Usage is { } details ? UsageAccounting.ToTokenUsage(details) : default;
        decimal cost = UsageAccounting.Cost(usage, model.Info.Pricing);
        string text = response.Text.Trim();
        if (text.Length == 0)
        {
            throw new AgentCoreException($"Model '{model.Info.Reference}' returned an empty summary for session '{session.Id}'. Nothing was changed.");
        }

        var summary = new SessionMessage
        {
            Id = Identifier.Create(IdKind.Message, _time),
            SessionId = session.Id,
            Role = ChatRole.Assistant,
            CreatedAt = created,
            CompletedAt = _time.GetUtcNow(),
            ProviderId = model.Info.ProviderId,
            ModelId = model.Info.ModelId,
            IsSummary = true,
            SummarizedThrough = covered[^1].Id,
            Tokens = usage,
            Cost = cost,
            FinishReason = response.FinishReason?.Value ?? ChatFinishReason.Stop.Value,
            Parts = [new TextPart { Id = Identifier.Create(IdKind.Part, _time), Text = text }],
        };
        await _runtime.Store.SaveMessageAsync(summary, CancellationToken.None).ConfigureAwait(false);
        return summary;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: compacted about {Before} tokens of context into about {After}")]
    private partial void LogCompacted(string sessionId, long before, long after);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId}: pruned {Count} old tool outputs from prompts")]
    private partial void LogPruned(string sessionId, int count);
}
