using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>
/// Names a session from its first user message, in the background: at most 80 output tokens, cleaned to one line
/// of at most 100 characters. Never overwrites a title set in the meantime; a failure is logged, never thrown.
/// The call's usage and cost are added to the session's totals (with the title, in one write) and recorded in the
/// usage history as a run of their own (see docs/usage-and-cost.md).
/// </summary>
internal static partial class TitleGenerator
{
    public const int MaxOutputTokens = 80;
    public const int MaxLength = 100;

    /// <summary>
    /// Starts naming a session in the background of <paramref name="runtime"/> (tracked, and cancelled when it is
    /// disposed), with <see cref="AgentCoreOptions.TitleModel"/> or else the turn's model.
    /// </summary>
    /// <param name="runtime">The runtime the turn runs in.</param>
    /// <param name="sessionId">The session to name.</param>
    /// <param name="turnModel">The turn's model, used when no title model is set.</param>
    /// <param name="userParts">The session's first user message.</param>
    public static void Start(SessionRuntime runtime, string sessionId, ResolvedModel turnModel, IReadOnlyList<MessagePart> userParts)
    {
        var logger = runtime.LoggerFactory.CreateLogger(typeof(TitleGenerator));
        runtime.RunInBackground(async token =>
        {
            ResolvedModel model = turnModel;
            if (runtime.Options.TitleModel is { } reference)
            {
                try
                {
                    model = await runtime.ResolveModelAsync(reference, token).ConfigureAwait(false);
                }
                catch (ModelNotFoundException ex)
                {
                    LogTitleModelMissing(logger, ex, reference);
                    return;
                }
            }

            await GenerateAsync(runtime, sessionId, model, userParts, logger, token).ConfigureAwait(false);
        });
    }

    /// <summary>Names the session now; see the class summary. Never throws.</summary>
    /// <param name="runtime">The runtime the turn runs in.</param>
    /// <param name="sessionId">The session to name.</param>
    /// <param name="model">The model that writes the title.</param>
    /// <param name="userParts">The session's first user message.</param>
    /// <param name="logger">Where failures are logged.</param>
    /// <param name="cancellationToken">Cancels the call (the runtime is being disposed).</param>
    /// <returns>A task that completes when the title is stored, or the attempt has failed.</returns>
    public static async Task GenerateAsync(SessionRuntime runtime, string sessionId, ResolvedModel model, IReadOnlyList<MessagePart> userParts, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            string text = string.Concat(userParts.OfType<TextPart>().Select(static p => p.Text));
            if (string.IsNullOrWhiteSpace(text))
            {
                return;
            }

            var request = new List<ChatMessage>
            {
                new(ChatRole.System, PromptTemplates.Load("title.txt")),
                new(ChatRole.User, text.Length > 4000 ? text[..4000] : text),
            };
            var options = new ChatOptions { ModelId = model.Info.ModelId, MaxOutputTokens = MaxOutputTokens };
            using var activity = AgentCoreInstrumentation.StartModelOperation(AgentCoreInstrumentation.TitleOperation, sessionId, model);
            var stats = new SessionStats(runtime.Time);
            long startedAt = stats.StartApiCall();
            ChatResponse response;
            try
            {
                response = await model.ChatClient.GetResponseAsync(request, options, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                runtime.Telemetry.EndModelOperation(activity, AgentCoreInstrumentation.TitleOperation, model, default, null, ex, runtime.Time.GetElapsedTime(startedAt), null);
                throw;
            }

            var usage = response.Usage is { } details ? UsageAccounting.ToTokenUsage(details) : default;
            decimal cost = UsageAccounting.Cost(usage, model.Info.Pricing);
            stats.RecordStep(usage, startedAt);
            string? title = Clean(response.Text);
            runtime.Telemetry.EndModelOperation(activity, AgentCoreInstrumentation.TitleOperation, model, usage, cost, null, runtime.Time.GetElapsedTime(startedAt),
                runtime.Options.EnableSensitiveTelemetryData ? title : null, response.FinishReason?.Value);
            if (title is null)
            {
                LogEmpty(logger, sessionId);
            }

            // The usage history first, so whoever sees the new title (SessionUpdated) finds the call in it too.
            if (usage != default)
            {
                await runtime.RecordHistoryAsync(runtime.HistoryEntryOf(sessionId, model.Info, stats, cost, end: false)).ConfigureAwait(false);
                await runtime.RecordHistoryAsync(runtime.HistoryEntryOf(sessionId, model.Info, stats, cost, end: true)).ConfigureAwait(false);
            }

            // A session without a totals checkpoint has nowhere to keep usage of no message: its messages let
            // AddOutsideMessages recount it first, so a later full recount keeps the title's usage.
            IReadOnlyList<SessionMessage>? messages = null;
            if (usage != default && await runtime.Store.GetSessionAsync(sessionId, CancellationToken.None).ConfigureAwait(false) is { TotalsCheckpoint: null } uncounted)
            {
                messages = SessionRuntime.InConversation(uncounted, await runtime.Store.GetMessagesAsync(sessionId, CancellationToken.None).ConfigureAwait(false));
            }

            // Title and usage in one write: the call was made (and billed) whether or not its answer was usable.
            await runtime.ChangeSessionAsync(sessionId, s =>
            {
                var named = title is not null && s.HasDefaultTitle ? s with { Title = title } : s;
                // Usage of no message: recorded in the checkpoint too, so a later recount (a revert, a lost checkpoint message) keeps it.
                return usage == default ? named : SessionTotals.AddOutsideMessages(named, usage, cost, messages);
            }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogFailed(logger, ex, sessionId);
        }
    }

    /// <summary>Strips <c>&lt;think&gt;…&lt;/think&gt;</c>, keeps the first non-empty line without quotes, cuts to 100 characters.</summary>
    public static string? Clean(string? raw)
    {
        if (raw is null)
        {
            return null;
        }

        string withoutThinking = Thinking().Replace(raw, "");
        foreach (string line in withoutThinking.Split('\n'))
        {
            string title = line.Trim().Trim('"', '\'', '“', '”', '«', '»', '`').Trim();
            if (title.Length > 0)
            {
                return title.Length > MaxLength ? title[..MaxLength].TrimEnd() : title;
            }
        }

        return null;
    }

    [GeneratedRegex(@"<think>.*?(</think>|$)", RegexOptions.Singleline | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Thinking();

    [LoggerMessage(Level = LogLevel.Warning, Message = "The title model '{Reference}' is not registered; no title is generated")]
    private static partial void LogTitleModelMissing(ILogger logger, Exception exception, string reference);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: generating a title failed; the default title stays")]
    private static partial void LogFailed(ILogger logger, Exception exception, string sessionId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId}: the title model returned no usable title")]
    private static partial void LogEmpty(ILogger logger, string sessionId);
}
