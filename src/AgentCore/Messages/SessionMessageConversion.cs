using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// Converts between stored <see cref="SessionMessage"/>s and Microsoft.Extensions.AI <see cref="ChatMessage"/>s: for
/// code that keeps AgentCore's store but runs its own loop (an Agent Framework <c>ChatHistoryProvider</c>, a custom
/// agent), or that shows a session's messages in a UI built on <see cref="ChatMessage"/>.
/// </summary>
/// <remarks>
/// <para>One assistant <see cref="SessionMessage"/> holds a whole turn: every step (model call), its text, reasoning,
/// tool calls and their results. As chat messages it becomes, for each step, one <see cref="ChatRole.Assistant"/>
/// message (text, files and <see cref="FunctionCallContent"/>s) followed, when the step called tools, by one
/// <see cref="ChatRole.Tool"/> message holding a <see cref="FunctionResultContent"/> for every call, so every call
/// is answered. <see cref="ToSessionMessages"/> does the reverse, and the two round-trip text, files, reasoning,
/// tool calls and their results.</para>
/// <para>Content types other than text, reasoning, <see cref="DataContent"/>, <see cref="UriContent"/>, function
/// calls, function results and usage have no part to be stored as and are left out.</para>
/// </remarks>
public static class SessionMessageConversion
{
    /// <summary>Converts one stored message into the chat messages it stands for.</summary>
    /// <param name="message">The message.</param>
    /// <param name="includeReasoning">
    /// Whether to include <see cref="ReasoningPart"/>s as <see cref="TextReasoningContent"/>. Off by default:
    /// prompts never send reasoning back (providers need their own signatures for it); turn it on to show a message.
    /// </param>
    /// <returns>
    /// The chat messages, in order: one for a user or system message (none when it has no text or file), one or more
    /// for an assistant message. A tool call that never completed is answered with an error result.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is null.</exception>
    public static IList<ChatMessage> ToChatMessages(this SessionMessage message, bool includeReasoning = false)
    {
        ArgumentNullException.ThrowIfNull(message);
        var messages = new List<ChatMessage>();
        PromptConversion.AppendChatMessages(message, messages, includeReasoning);
        return messages;
    }

    /// <summary>
    /// Converts a session's messages into the conversation a prompt carries, exactly as AgentCore's engine builds it: the
    /// latest summary (introduced as such) and the messages after what it covers, or every message when there is no
    /// summary. System messages and older summaries are left out.
    /// </summary>
    /// <param name="messages">The session's messages in ascending id order, as <see cref="ISessionStore.GetMessagesAsync"/> returns them.</param>
    /// <returns>The chat messages of the conversation, oldest first.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> is null.</exception>
    public static IList<ChatMessage> ToPromptMessages(this IReadOnlyList<SessionMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var prompt = new List<ChatMessage>(messages.Count * 2);
        PromptBuilder.AppendConversation(messages, prompt);
        return prompt;
    }

    /// <summary>
    /// Converts chat messages, as a chat client or an agent exchanged them, into messages to store in session
    /// <paramref name="sessionId"/>.
    /// </summary>
    /// <remarks>
    /// <para>Each user or system message becomes one <see cref="SessionMessage"/> (text and files). A run of assistant and
    /// tool messages becomes one completed assistant <see cref="SessionMessage"/>: each assistant message that follows a
    /// tool message (or starts the run) starts a step (<see cref="StepStartPart"/>); a <see cref="FunctionCallContent"/>
    /// becomes a <see cref="ToolPart"/> and the <see cref="FunctionResultContent"/> with the same call id completes it
    /// (<see cref="ToolState.Error"/> when the result carries an exception); <see cref="UsageContent"/> is added to
    /// <see cref="SessionMessage.Tokens"/>. A result whose call is not in the same run is left out (a prompt cannot carry
    /// it either). No cost is computed: chat messages carry no price.</para>
    /// <para>Messages get new time-sortable ids, in order, so they sort after the messages stored before them.
    /// <see cref="ChatMessage.CreatedAt"/> is kept when set; otherwise the current time is used.</para>
    /// </remarks>
    /// <param name="messages">The chat messages, oldest first.</param>
    /// <param name="sessionId">The session the messages will belong to.</param>
    /// <param name="timeProvider">The clock for ids and times; null for <see cref="TimeProvider.System"/>.</param>
    /// <returns>The messages to store, oldest first.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> is null or holds a null message.</exception>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid session id.</exception>
    public static IReadOnlyList<SessionMessage> ToSessionMessages(this IEnumerable<ChatMessage> messages, string sessionId, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        var time = timeProvider ?? TimeProvider.System;

        var result = new List<SessionMessage>();
        SessionMessage? assistant = null;
        bool stepOpen = false;
        foreach (var message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            var createdAt = message.CreatedAt ?? time.GetUtcNow();
            if (message.Role == ChatRole.Assistant || message.Role == ChatRole.Tool)
            {
                if (assistant is null)
                {
                    assistant = NewMessage(sessionId, ChatRole.Assistant, createdAt, time);
                    result.Add(assistant);
                    stepOpen = false;
                }

                if (message.Role == ChatRole.Tool)
                {
                    stepOpen = false;
                }
                else if (!stepOpen)
                {
                    assistant.Parts.Add(new StepStartPart { Id = Identifier.Create(IdKind.Part, time), StartedAt = createdAt });
                    stepOpen = true;
                }

                AppendAssistantContents(assistant, message, createdAt, time);
                continue;
            }

            assistant = null;
            var other = NewMessage(sessionId, message.Role, createdAt, time);
            foreach (var content in message.Contents)
            {
                if (ToPart(content, time) is { } part)
                {
                    other.Parts.Add(part);
                }
            }

            result.Add(other);
        }

        return result;
    }

    private static SessionMessage NewMessage(string sessionId, ChatRole role, DateTimeOffset createdAt, TimeProvider time) => new()
    {
        Id = Identifier.Create(IdKind.Message, time),
        SessionId = sessionId,
        Role = role,
        CreatedAt = createdAt,
        CompletedAt = createdAt,
    };

    private static void AppendAssistantContents(SessionMessage assistant, ChatMessage message, DateTimeOffset createdAt, TimeProvider time)
    {
        foreach (var content in message.Contents)
        {
            switch (content)
            {
                case FunctionCallContent call:
                    assistant.Parts.Add(PromptConversion.ToToolPart(call, Identifier.Create(IdKind.Part, time)));
                    break;
                case FunctionResultContent functionResult:
                    var tool = assistant.Parts.OfType<ToolPart>().LastOrDefault(p => p.CallId == functionResult.CallId);
                    if (tool is null)
                    {
                        break;
                    }

                    tool.EndedAt = createdAt;
                    if (functionResult.Exception is { } exception)
                    {
                        tool.State = ToolState.Error;
                        // The result is what the model was shown (the function-invoking client hides details unless asked).
                        tool.Error = functionResult.Result is string shown ? StripErrorPrefix(shown) : exception.Message;
                    }
                    else
                    {
                        (tool.Output, tool.Attachments) = ToolInvoker.Render(functionResult.Result, time);
                        tool.State = ToolState.Completed;
                    }

                    break;
                case UsageContent usage:
                    var tokens = UsageAccounting.ToTokenUsage(usage.Details);
                    assistant.Tokens += tokens;
                    break;
                default:
                    if (ToPart(content, time) is { } part)
                    {
                        assistant.Parts.Add(part);
                    }

                    break;
            }
        }

        if (createdAt > assistant.CompletedAt)
        {
            assistant.CompletedAt = createdAt;
        }
    }

    private static string StripErrorPrefix(string text) =>
        text.StartsWith(ErrorPrefix, StringComparison.Ordinal) ? text[ErrorPrefix.Length..] : text;

    private const string ErrorPrefix = "Error: ";

    private static MessagePart? ToPart(AIContent content, TimeProvider time) => content switch
    {
        TextContent { Text.Length: > 0 } text => new TextPart { Id = Identifier.Create(IdKind.Part, time), Text = text.Text },
        TextReasoningContent { Text.Length: > 0 } reasoning => new ReasoningPart { Id = Identifier.Create(IdKind.Part, time), Text = reasoning.Text },
        DataContent data => PromptConversion.ToFilePart(data, Identifier.Create(IdKind.Part, time)),
        UriContent uri => PromptConversion.ToFilePart(uri, Identifier.Create(IdKind.Part, time)),
        _ => null,
    };
}
