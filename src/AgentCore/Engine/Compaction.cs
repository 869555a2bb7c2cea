using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>
/// Summaries: writing a session's summary with the model, and building prompts that start from the latest one.
/// </summary>
internal sealed partial class Compaction
{
    private readonly SessionService _service;
    private readonly AgentCoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public Compaction(SessionService service, AgentCoreOptions options, TimeProvider time, ILogger logger)
    {
        _service = service;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Appends the chat messages a prompt carries from <paramref name="messages"/>: from the latest summary on
    /// (the summary itself introduced as such), or all of them when there is none.
    /// </summary>
    public static void AppendHistory(IReadOnlyList<SessionMessage> messages, List<ChatMessage> prompt)
    {
        int start = LastSummaryIndex(messages);
        if (start >= 0)
        {
            prompt.Add(new ChatMessage(ChatRole.User, PromptTemplates.Load("summary-preface.txt") + "\n\n" + messages[start].Text));
            start++;
        }
        else
        {
            start = 0;
        }

        for (int i = start; i < messages.Count; i++)
        {
            if (messages[i].Role != ChatRole.System && !messages[i].IsSummary)
            {
                PromptConversion.AppendChatMessages(messages[i], prompt);
            }
        }
    }

    /// <summary>The index of the latest completed summary, or −1.</summary>
    public static int LastSummaryIndex(IReadOnlyList<SessionMessage> messages)
    {
        for (int i = messages.Count - 1; i >= 0; i--)
        {
            if (messages[i] is { IsSummary: true, CompletedAt: not null, Error: null })
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Estimates the prompt tokens of chat messages: characters / 4.</summary>
    public static long EstimateTokens(IEnumerable<ChatMessage> messages)
    {
        long characters = 0;
        foreach (var message in messages)
        {
            foreach (var content in message.Contents)
            {
                characters += content switch
                {
                    TextContent t => t.Text.Length,
                    FunctionCallContent c => c.Name.Length + JsonSerializer.Serialize(c.Arguments, AIJsonUtilities.DefaultOptions).Length,
                    FunctionResultContent r => r.Result is string s ? s.Length : 256,
                    _ => 256,
                };
            }
        }

        return characters / 4;
    }

    /// <summary>
    /// Writes a summary of the messages since the previous summary (that summary folded in) and stores it as an
    /// assistant message flagged <see cref="SessionMessage.IsSummary"/>, with its usage and cost.
    /// </summary>
    public async Task<SessionMessage> SummarizeAsync(
        SessionInfo session, ResolvedModel model, IReadOnlyList<SessionMessage> messages, Action<SessionEvent> publish, CancellationToken cancellationToken)
    {
        var history = new List<ChatMessage>();
        AppendHistory(messages, history);
        long before = EstimateTokens(history);
        publish(new CompactionStarted(session.Id, before));

        var request = new List<ChatMessage> { new(ChatRole.System, PromptTemplates.Load("summary.txt")) };
        request.AddRange(history);
        request.Add(new ChatMessage(ChatRole.User, "Write the summary now, following the instructions in the system message."));
        var options = new ChatOptions { ModelId = model.Info.ModelId, MaxOutputTokens = model.Info.MaxOutputTokens };

        var created = _time.GetUtcNow();
        var response = await model.ChatClient.GetResponseAsync(request, options, cancellationToken).ConfigureAwait(false);
        var usage = response.Usage is { } details ? UsageAccounting.ToTokenUsage(details) : default;
        decimal cost = UsageAccounting.Cost(usage, model.Info.Pricing);
        string text = response.Text.Trim();
        if (text.Length == 0)
        {
            throw new InvalidOperationException($"Model '{model.Info.Reference}' returned an empty summary for session '{session.Id}'.");
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
            Tokens = usage,
            Cost = cost,
            FinishReason = response.FinishReason?.Value ?? ChatFinishReason.Stop.Value,
            Parts = [new TextPart { Id = Identifier.Create(IdKind.Part, _time), Text = text }],
        };
        await _service.Store.SaveMessageAsync(summary, CancellationToken.None).ConfigureAwait(false);
        publish(new MessageUpdated(session.Id, summary));
        await _service.UpdateTotalsAsync(session.Id, usage, cost).ConfigureAwait(false);

        long after = EstimateTokens([new ChatMessage(ChatRole.User, text)]);
        publish(new CompactionFinished(session.Id, before, after));
        LogSummarized(session.Id, before, after);
        return summary;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: summarized about {Before} tokens of context into about {After}")]
    private partial void LogSummarized(string sessionId, long before, long after);
}
