using System.Text.Json;
using Microsoft.Extensions.AI;

namespace AgentCore.Testing;

/// <summary>The scripted answer to one call: updates streamed in order, failures and waits between them.</summary>
public sealed class ScriptedResponse
{
    internal abstract record Step;

    internal sealed record Emit(Func<ChatResponseUpdate> Create) : Step;

    internal sealed record Fail(Exception Exception) : Step;

    internal sealed record Wait(Func<CancellationToken, Task> Until) : Step;

    internal List<Step> Steps { get; } = [];

    /// <summary>Streams text, as one update.</summary>
    /// <param name="text">The text.</param>
    /// <returns>This response, for chaining.</returns>
    public ScriptedResponse Text(string text) => Content(() => new TextContent(text));

    /// <summary>Streams text split into updates of <paramref name="chunkSize"/> characters.</summary>
    /// <param name="text">The text.</param>
    /// <param name="chunkSize">The length of each update but the last.</param>
    /// <returns>This response, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunkSize"/> is less than 1.</exception>
    public ScriptedResponse TextChunks(string text, int chunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        for (int i = 0; i < text.Length; i += chunkSize)
        {
            Text(text.Substring(i, Math.Min(chunkSize, text.Length - i)));
        }

        return this;
    }

    /// <summary>Streams reasoning text.</summary>
    /// <param name="text">The reasoning text.</param>
    /// <returns>This response, for chaining.</returns>
    public ScriptedResponse Reasoning(string text) => Content(() => new TextReasoningContent(text));

    /// <summary>Asks for a tool call with arguments given as an object (serialized to JSON) or a dictionary.</summary>
    /// <param name="callId">The call's id.</param>
    /// <param name="name">The tool's name.</param>
    /// <param name="arguments">The arguments; null for none.</param>
    /// <returns>This response, for chaining.</returns>
    public ScriptedResponse ToolCall(string callId, string name, object? arguments = null)
    {
        var dictionary = arguments switch
        {
            null => new Dictionary<string, object?>(),
            IDictionary<string, object?> d => new Dictionary<string, object?>(d),
            _ => JsonSerializer.Deserialize<Dictionary<string, object?>>(JsonSerializer.SerializeToElement(arguments, arguments.GetType())),
        };
        return Content(() => new FunctionCallContent(callId, name, new Dictionary<string, object?>(dictionary!)));
    }

    /// <summary>Asks for a tool call whose arguments did not parse (the exception a client reports for them).</summary>
    /// <param name="callId">The call's id.</param>
    /// <param name="name">The tool's name.</param>
    /// <param name="rawArguments">The argument text that failed to parse.</param>
    /// <returns>This response, for chaining.</returns>
    public ScriptedResponse MalformedToolCall(string callId, string name, string rawArguments) =>
        Content(() => new FunctionCallContent(callId, name)
        {
            Exception = new JsonException($"The arguments of '{name}' are not valid JSON: {rawArguments}"),
            RawRepresentation = rawArguments,
        });

    /// <summary>Reports usage, as a <see cref="UsageContent"/>.</summary>
    /// <param name="input">Input tokens, cached ones included.</param>
    /// <param name="output">Output tokens, reasoning included.</param>
    /// <param name="cachedInput">Input tokens read from the provider's cache.</param>
    /// <param name="reasoning">Reasoning tokens.</param>
    /// <param name="cacheWrite">Input tokens written to the provider's cache.</param>
    /// <returns>This response, for chaining.</returns>
    public ScriptedResponse Usage(long input, long output, long cachedInput = 0, long reasoning = 0, long cacheWrite = 0)
    {
        return Content(() =>
        {
            var details = new UsageDetails
            {
                InputTokenCount = input,
                OutputTokenCount = output,
                TotalTokenCount = input + output,
                CachedInputTokenCount = cachedInput == 0 ? null : cachedInput,
                ReasoningTokenCount = reasoning == 0 ? null : reasoning,
            };
            if (cacheWrite != 0)
            {
                details.AdditionalCounts = new() { ["CacheCreationInputTokens"] = cacheWrite };
            }

            return new UsageContent(details);
        });
    }

    /// <summary>Ends the response with a finish reason.</summary>
    /// <param name="reason">The finish reason.</param>
    /// <returns>This response, for chaining.</returns>
    public ScriptedResponse Finish(ChatFinishReason reason)
    {
        Steps.Add(new Emit(() => new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = reason }));
        return this;
    }

    /// <summary>Streams any content.</summary>
    /// <param name="create">Creates the content when the stream reaches it.</param>
    /// <returns>This response, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="create"/> is null.</exception>
    public ScriptedResponse Content(Func<AIContent> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        Steps.Add(new Emit(() => new ChatResponseUpdate(ChatRole.Assistant, [create()])));
        return this;
    }

    /// <summary>Streams a whole update.</summary>
    /// <param name="create">Creates the update when the stream reaches it.</param>
    /// <returns>This response, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="create"/> is null.</exception>
    public ScriptedResponse Update(Func<ChatResponseUpdate> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        Steps.Add(new Emit(create));
        return this;
    }

    /// <summary>Throws <paramref name="exception"/> at this point of the stream.</summary>
    /// <param name="exception">The exception to throw.</param>
    /// <returns>This response, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is null.</exception>
    public ScriptedResponse Throw(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Steps.Add(new Fail(exception));
        return this;
    }

    /// <summary>Pauses the stream until <paramref name="until"/> completes (or the call is cancelled).</summary>
    /// <param name="until">The task to wait for.</param>
    /// <returns>This response, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="until"/> is null.</exception>
    public ScriptedResponse WaitFor(Task until)
    {
        ArgumentNullException.ThrowIfNull(until);
        Steps.Add(new Wait(_ => until));
        return this;
    }

    /// <summary>Runs <paramref name="action"/> when the stream reaches this point (to signal a test).</summary>
    /// <param name="action">The action to run.</param>
    /// <returns>This response, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    public ScriptedResponse Then(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Steps.Add(new Wait(_ =>
        {
            action();
            return Task.CompletedTask;
        }));
        return this;
    }

    /// <summary>Pauses the stream until the call is cancelled: for abort tests.</summary>
    /// <returns>This response, for chaining.</returns>
    public ScriptedResponse WaitForCancellation()
    {
        Steps.Add(new Wait(ct => Task.Delay(Timeout.Infinite, ct)));
        return this;
    }
}
