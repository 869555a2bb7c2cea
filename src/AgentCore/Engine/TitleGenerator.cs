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

    public static async Task GenerateAsync(SessionService service, string sessionId, ResolvedModel model, IReadOnlyList<MessagePart> userParts, ILogger logger, CancellationToken cancellationToken)
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
            var stats = new SessionStats(service.Time);
            long startedAt = stats.StartApiCall();
            ChatResponse response;
            try
            {
                response = await model.ChatClient.GetResponseAsync(request, options, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                service.Telemetry.EndModelOperation(activity, AgentCoreInstrumentation.TitleOperation, model, default, null, ex, service.Time.GetElapsedTime(startedAt), null);
                throw;
            }

            var usage = response.Usage is { } details ? UsageAccounting.ToTokenUsage(details) : default;
            decimal cost = UsageAccounting.Cost(usage, model.Info.Pricing);
            stats.RecordStep(usage, startedAt);
            string? title = Clean(response.Text);
            service.Telemetry.EndModelOperation(activity, AgentCoreInstrumentation.TitleOperation, model, usage, cost, null, service.Time.GetElapsedTime(startedAt),
                service.Options.EnableSensitiveTelemetryData ? title : null, response.FinishReason?.Value);
            if (title is null)
            {
                LogEmpty(logger, sessionId);
            }

            // The history first, so whoever sees the new title (SessionUpdated) finds the call in the history too.
            if (usage != default)
            {
                await service.RecordHistoryAsync(service.HistoryEntryOf(sessionId, model.Info, stats, cost, end: false)).ConfigureAwait(false);
                await service.RecordHistoryAsync(service.HistoryEntryOf(sessionId, model.Info, stats, cost, end: true)).ConfigureAwait(false);
            }

            // Title and usage in one write: the call was made (and billed) whether or not its answer was usable.
            await service.ChangeSessionAsync(sessionId, s =>
            {
                var named = title is not null && s.HasDefaultTitle ? s with { Title = title } : s;
                // Usage of no message: recorded in the checkpoint too, so a later recount (a revert, a lost checkpoint message) keeps it.
                return usage == default ? named : SessionTotals.AddOutsideMessages(named, usage, cost);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: generating a title failed; the default title stays")]
    private static partial void LogFailed(ILogger logger, Exception exception, string sessionId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId}: the title model returned no usable title")]
    private static partial void LogEmpty(ILogger logger, string sessionId);
}
