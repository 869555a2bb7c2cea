using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// Runs one requested tool call and turns whatever happens into a result the model can read: the tool's
/// output (cut to <see cref="AgentCoreOptions.MaxToolOutputBytes"/>), or an error for an unknown tool,
/// malformed arguments or a tool that throws. Never throws itself, except for the turn's own cancellation.
/// </summary>
internal static class ToolInvoker
{
    /// <summary>
    /// What a call returned; <paramref name="ErrorType"/> classifies a failure for telemetry (<c>error.type</c>),
    /// <paramref name="Metadata"/> is what the tool returned beside its result (see <see cref="ToolPart.Metadata"/>).
    /// </summary>
    public sealed record Outcome(bool Succeeded, string Text, List<FilePart>? Attachments, string? ErrorType = null, Dictionary<string, JsonElement>? Metadata = null)
    {
        /// <summary>Records the outcome in the call's part: <see cref="ToolState.Completed"/> with the output, or <see cref="ToolState.Error"/> with the error.</summary>
        public void ApplyTo(ToolPart part)
        {
            if (Succeeded)
            {
                part.State = ToolState.Completed;
                part.Output = Text;
                part.Attachments = Attachments;
                part.Metadata = Metadata;
            }
            else
            {
                part.State = ToolState.Error;
                part.Error = Text;
            }
        }
    }

    public static async Task<Outcome> InvokeAsync(
        FunctionCallContent call,
        IReadOnlyDictionary<string, AIFunction> tools,
        IServiceProvider services,
        int maxOutputBytes,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (!tools.TryGetValue(call.Name, out var function))
        {
            string available = tools.Count == 0 ? "none" : string.Join(", ", tools.Keys.Order(StringComparer.Ordinal));
            return new Outcome(false, $"Unknown tool '{call.Name}'. Available tools: {available}.", null, "unknown_tool");
        }

        if (call.Exception is { } parseError)
        {
            return new Outcome(false, $"The arguments for '{call.Name}' could not be read: {parseError.Message} Send a valid JSON object.", null, "invalid_arguments");
        }

        object? result;
        try
        {
            var arguments = new AIFunctionArguments(call.Arguments ?? new Dictionary<string, object?>()) { Services = services };
            result = await function.InvokeAsync(arguments, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested)
        {
            // A tool that fails some other way once cancelled was stopped by the abort: not a result for the model.
            throw new OperationCanceledException("The tool call was cancelled.", ex, cancellationToken);
        }
        catch (Exception ex)
        {
            return new Outcome(false, Truncate(DescribeFailure(ex), maxOutputBytes), null, ex.GetType().FullName);
        }

        var (text, attachments) = Render(result, time);
        return new Outcome(true, Truncate(text, maxOutputBytes), attachments, Metadata: MetadataOf(result));
    }

    /// <summary>
    /// The outcome of a call that something else ran (a result streamed by the chat client's pipeline): its result
    /// rendered and cut like a tool's own, an error when it carries an exception.
    /// </summary>
    public static Outcome FromResult(FunctionResultContent result, int maxOutputBytes, TimeProvider time)
    {
        if (result.Exception is { } failure)
        {
            string text = result.Result as string ?? DescribeFailure(failure);
            return new Outcome(false, Truncate(text, maxOutputBytes), null);
        }

        var (output, attachments) = Render(result.Result, time);
        return new Outcome(true, Truncate(output, maxOutputBytes), attachments);
    }

    /// <summary>Cuts <paramref name="text"/> to <paramref name="maxBytes"/> UTF-8 bytes, at a character boundary, with a visible marker.</summary>
    public static string Truncate(string text, int maxBytes)
    {
        int bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes <= maxBytes)
        {
            return text;
        }

        // Find the longest prefix that fits, without splitting a surrogate pair.
        int chars = 0;
        int used = 0;
        while (chars < text.Length)
        {
            int width = char.IsHighSurrogate(text[chars]) && chars + 1 < text.Length ? 2 : 1;
            int size = Encoding.UTF8.GetByteCount(text.AsSpan(chars, width));
            if (used + size > maxBytes)
            {
                break;
            }

            used += size;
            chars += width;
        }

        return string.Concat(text.AsSpan(0, chars),
            string.Create(CultureInfo.InvariantCulture, $"\n\n[Output truncated: showing the first {used:N0} of {bytes:N0} bytes.]"));
    }

    /// <summary>The additional properties of the AI contents a tool returned, merged in order (later keys win); null when none.</summary>
    private static Dictionary<string, JsonElement>? MetadataOf(object? result)
    {
        IEnumerable<AIContent> contents = result switch
        {
            AIContent content => [content],
            IEnumerable<AIContent> many => many,
            _ => [],
        };
        Dictionary<string, JsonElement>? metadata = null;
        foreach (var content in contents)
        {
            foreach (var (key, value) in content.AdditionalProperties ?? [])
            {
                (metadata ??= new Dictionary<string, JsonElement>(StringComparer.Ordinal))[key] = value is JsonElement json
                    ? json.Clone()
                    : JsonSerializer.SerializeToElement(value, AIJsonUtilities.DefaultOptions.GetTypeInfo(value?.GetType() ?? typeof(object)));
            }
        }

        return metadata;
    }

    private static string DescribeFailure(Exception ex) => ex switch
    {
        ArgumentException or JsonException => $"Invalid arguments: {ex.Message}",
        ToolException => ex.Message,
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    /// <summary>The text (and binary attachments) a tool result is stored as.</summary>
    internal static (string Text, List<FilePart>? Attachments) Render(object? result, TimeProvider time)
    {
        switch (result)
        {
            case null:
                return ("", null);
            case string s:
                return (s, null);
            case JsonElement { ValueKind: JsonValueKind.String } json:
                return (json.GetString() ?? "", null);
            case JsonElement json:
                return (json.GetRawText(), null);
            case AIContent content:
                return Render(new[] { content }, time);
            case IEnumerable<AIContent> contents:
                var texts = new List<string>();
                List<FilePart>? files = null;
                foreach (var content in contents)
                {
                    switch (content)
                    {
                        case TextContent t:
                            texts.Add(t.Text);
                            break;
                        case DataContent d:
                            (files ??= []).Add(PromptConversion.ToFilePart(d, Identifier.Create(IdKind.Part, time)));
                            break;
                        case UriContent u:
                            (files ??= []).Add(PromptConversion.ToFilePart(u, Identifier.Create(IdKind.Part, time)));
                            break;
                        default:
                            texts.Add(JsonSerializer.Serialize(content, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(AIContent))));
                            break;
                    }
                }

                return (string.Join("\n\n", texts), files);
            default:
                return (JsonSerializer.Serialize(result, AIJsonUtilities.DefaultOptions.GetTypeInfo(result.GetType())), null);
        }
    }
}
