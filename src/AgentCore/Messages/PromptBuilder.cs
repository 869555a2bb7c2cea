using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// Assembles prompts from a session's conversation: the latest summary (introduced as such) and the messages after what
/// it covers, each converted by <see cref="PromptConversion.AppendChatMessages"/>. Used by the turn for every step, by
/// compaction for the summary request, and by <see cref="SessionMessageConversion.ToPromptMessages"/>.
/// </summary>
internal static class PromptBuilder
{
    /// <summary>The prompt of a turn's step: one system message of <paramref name="systemSections"/>, then the conversation.</summary>
    /// <param name="systemSections">The system prompt's sections, one <see cref="TextContent"/> each.</param>
    /// <param name="conversation">The session's messages, this turn's user and assistant messages last, in ascending id order.</param>
    /// <returns>The chat messages to send.</returns>
    public static List<ChatMessage> ForStep(IReadOnlyList<string> systemSections, IReadOnlyList<SessionMessage> conversation)
    {
        var prompt = new List<ChatMessage>(conversation.Count + 4) { SystemMessage(systemSections) };
        AppendConversation(conversation, prompt);
        return prompt;
    }

    /// <summary>The system message of a step's prompt: one <see cref="TextContent"/> per section.</summary>
    /// <param name="systemSections">The system prompt's sections.</param>
    /// <returns>The message.</returns>
    public static ChatMessage SystemMessage(IReadOnlyList<string> systemSections) =>
        new(ChatRole.System, [.. systemSections.Select(static section => (AIContent)new TextContent(section))]);

    /// <summary>
    /// Appends the chat messages a prompt carries of <paramref name="messages"/>: the latest summary (introduced as such)
    /// and the messages after what it covers, or every message when there is no summary. System messages and older
    /// summaries are left out.
    /// </summary>
    /// <param name="messages">The session's messages in ascending id order.</param>
    /// <param name="prompt">The prompt to append to.</param>
    public static void AppendConversation(IReadOnlyList<SessionMessage> messages, List<ChatMessage> prompt)
    {
        int summaryIndex = LastSummaryIndex(messages);
        string? coveredThrough = null;
        if (summaryIndex >= 0)
        {
            var summary = messages[summaryIndex];
            prompt.Add(new ChatMessage(ChatRole.User, PromptTemplates.Load("summary-preface.txt") + "\n\n<summary>\n" + summary.Text + "\n</summary>"));
            coveredThrough = summary.SummarizedThrough ?? summary.Id;
        }

        foreach (var message in messages)
        {
            if (message.Role != ChatRole.System && !message.IsSummary &&
                (coveredThrough is null || string.CompareOrdinal(message.Id, coveredThrough) > 0))
            {
                PromptConversion.AppendChatMessages(message, prompt);
            }
        }
    }

    /// <summary>The index of the latest completed summary in <paramref name="messages"/>, or −1.</summary>
    /// <param name="messages">The session's messages in ascending id order.</param>
    /// <returns>The index, or −1 when there is no completed summary.</returns>
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
}
