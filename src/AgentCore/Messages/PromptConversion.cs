using System.Text.Json;
using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>Converts between stored messages and the <see cref="ChatMessage"/>s a chat client takes.</summary>
internal static class PromptConversion
{
    /// <summary>What the model sees in place of a tool output pruned to save context.</summary>
    public const string PrunedOutput = "[Old tool output removed to save context. Call the tool again if you need it.]";

    /// <summary>
    /// Appends the chat messages of <paramref name="message"/>: a user or system message as one message;
    /// an assistant message as one assistant message per step, each followed by a tool message holding the
    /// results of that step's tool calls, so every call is answered and results follow their calls in order.
    /// Reasoning is not sent back (providers need their own signatures for it) unless <paramref name="includeReasoning"/>
    /// is set, which is for showing a message, not for prompts. With <paramref name="fromPart"/>, only the assistant
    /// message's parts from that index on are converted (a turn extending its prompt with the steps added since).
    /// </summary>
    public static void AppendChatMessages(SessionMessage message, List<ChatMessage> into, bool includeReasoning = false, int fromPart = 0)
    {
        if (message.Role != ChatRole.Assistant)
        {
            var contents = new List<AIContent>(message.Parts.Count);
            foreach (var part in message.Parts)
            {
                switch (part)
                {
                    case TextPart text when text.Text.Length > 0:
                        contents.Add(new TextContent(text.Text));
                        break;
                    case FilePart file when ToContent(file) is { } content:
                        contents.Add(content);
                        break;
                }
            }

            if (contents.Count > 0)
            {
                into.Add(new ChatMessage(message.Role, contents));
            }

            return;
        }

        var step = new List<AIContent>();
        var results = new List<AIContent>();
        for (int i = fromPart; i < message.Parts.Count; i++)
        {
            switch (message.Parts[i])
            {
                case StepStartPart:
                    Flush(step, results, into);
                    break;
                case TextPart text when text.Text.Length > 0:
                    step.Add(new TextContent(text.Text));
                    break;
                case ReasoningPart reasoning when includeReasoning && reasoning.Text.Length > 0:
                    step.Add(new TextReasoningContent(reasoning.Text));
                    break;
                case FilePart file when ToContent(file) is { } content:
                    step.Add(content);
                    break;
                case ToolPart tool:
                    step.Add(new FunctionCallContent(tool.CallId, tool.ToolName, ArgumentsOf(tool)));
                    results.Add(new FunctionResultContent(tool.CallId, ResultOf(tool)));
                    break;
            }
        }

        Flush(step, results, into);
    }

    /// <summary>The result text the model sees for a tool part, whatever its state.</summary>
    public static object? ResultOf(ToolPart tool)
    {
        if (tool.Compacted)
        {
            return PrunedOutput;
        }

        switch (tool.State)
        {
            case ToolState.Completed:
                if (tool.Attachments is { Count: > 0 } attachments)
                {
                    var contents = new List<AIContent> { new TextContent(tool.Output ?? "") };
                    contents.AddRange(attachments.Select(ToContent).OfType<AIContent>());
                    return contents;
                }

                return tool.Output ?? "";
            case ToolState.Error:
                return "Error: " + (tool.Error ?? "the tool failed");
            case ToolState.AwaitingApproval:
                return "Error: the tool call has not run: it is waiting for the user's approval.";
            default:
                return "Error: the tool call was interrupted before it returned.";
        }
    }

    /// <summary>Converts user content into parts: text and files.</summary>
    /// <exception cref="ArgumentException">
    /// The text, or a <see cref="TextContent"/>, contains a lone UTF-16 surrogate (the message names where): it cannot be
    /// stored as UTF-8 without changing it. Or a content is of a type that cannot be user input.
    /// </exception>
    public static List<MessagePart> ToParts(string? text, IEnumerable<AIContent>? contents, TimeProvider time)
    {
        var parts = new List<MessagePart>();
        if (!string.IsNullOrEmpty(text))
        {
            ThrowIfLoneSurrogate(text, "ChatRequest.Text", nameof(text));
            parts.Add(new TextPart { Id = Identifier.Create(IdKind.Part, time), Text = text });
        }

        int index = -1;
        foreach (var content in contents ?? [])
        {
            index++;
            switch (content)
            {
                case TextContent t:
                    if (!string.IsNullOrEmpty(t.Text))
                    {
                        ThrowIfLoneSurrogate(t.Text, $"ChatRequest.Contents[{index}] (TextContent)", nameof(contents));
                        parts.Add(new TextPart { Id = Identifier.Create(IdKind.Part, time), Text = t.Text });
                    }

                    break;
                case DataContent data:
                    parts.Add(ToFilePart(data, Identifier.Create(IdKind.Part, time)));
                    break;
                case UriContent uri:
                    parts.Add(ToFilePart(uri, Identifier.Create(IdKind.Part, time)));
                    break;
                case null:
                    break;
                default:
                    throw new ArgumentException($"Content of type '{content.GetType().Name}' cannot be sent as user input: use text, DataContent or UriContent.", nameof(contents));
            }
        }

        return parts;
    }

    /// <summary>The part an inline file is stored as.</summary>
    internal static FilePart ToFilePart(DataContent data, string id) =>
        new() { Id = id, MediaType = data.MediaType, Name = data.Name, Data = data.Data.ToArray() };

    /// <summary>The part a file by reference is stored as.</summary>
    internal static FilePart ToFilePart(UriContent uri, string id) =>
        new() { Id = id, MediaType = uri.MediaType, Uri = uri.Uri.ToString() };

    /// <summary>
    /// The part a requested call is stored as, <see cref="ToolState.Pending"/>: its arguments as JSON, or, when they could
    /// not be parsed, the raw text the model sent (or the parse error).
    /// </summary>
    internal static ToolPart ToToolPart(FunctionCallContent call, string id) => new()
    {
        Id = id,
        CallId = call.CallId,
        ToolName = call.Name,
        Arguments = call.Exception is null
            ? JsonSerializer.SerializeToElement(call.Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IDictionary<string, object?>)))
            : null,
        RawArguments = call.Exception is null ? null : call.RawRepresentation as string ?? call.Exception.Message,
        State = ToolState.Pending,
    };

    /// <summary>
    /// Throws when <paramref name="text"/> holds a high surrogate not followed by a low one, or a low surrogate not preceded
    /// by a high one: UTF-8 (every store's encoding) cannot represent it, and replacing it would change what the user sent.
    /// </summary>
    internal static void ThrowIfLoneSurrogate(string text, string what, string paramName)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c))
            {
                continue;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }

            throw new ArgumentException(
                $"{what} contains a lone UTF-16 surrogate (U+{(int)c:X4}) at index {i}: it is not valid Unicode and cannot be stored. " +
                "Remove it or replace it (with U+FFFD, say) before sending.", paramName);
        }
    }

    private static AIContent? ToContent(FilePart file)
    {
        if (file.Data is { } data)
        {
            return new DataContent(data, file.MediaType) { Name = file.Name };
        }

        return file.Uri is { } uri && Uri.TryCreate(uri, UriKind.Absolute, out var parsed) ? new UriContent(parsed, file.MediaType) : null;
    }

    /// <summary>The arguments of a stored call, as the dictionary a <see cref="FunctionCallContent"/> carries.</summary>
    internal static Dictionary<string, object?> ArgumentsOf(ToolPart tool)
    {
        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (tool.Arguments is { ValueKind: JsonValueKind.Object } json)
        {
            foreach (var property in json.EnumerateObject())
            {
                arguments[property.Name] = property.Value.Clone();
            }
        }

        return arguments;
    }

    private static void Flush(List<AIContent> step, List<AIContent> results, List<ChatMessage> into)
    {
        if (step.Count > 0)
        {
            into.Add(new ChatMessage(ChatRole.Assistant, [.. step]));
        }

        if (results.Count > 0)
        {
            into.Add(new ChatMessage(ChatRole.Tool, [.. results]));
        }

        step.Clear();
        results.Clear();
    }
}
