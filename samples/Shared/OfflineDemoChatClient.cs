using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using AgentCore;
using Microsoft.Extensions.AI;

namespace AgentCore.Samples;

/// <summary>
/// The samples' offline demo model, so they run anywhere: no network, no API key, and no intelligence. It says plainly
/// what it is, streams its reply word by word and reports token usage like a real model. When the user's message
/// mentions the time it calls the offered tool whose name ends in <c>_time</c>; when it mentions a note, the one ending
/// in <c>_note</c> (the samples make that one ask for approval first). A request without tools is a compaction: it
/// answers with a plain digest. Its prices are pretend: nothing is billed. Both samples link this one file; swap in a
/// real <see cref="IChatClient"/> (Anthropic, OpenAI, Ollama, ...) to talk to a model.
/// </summary>
/// <param name="time">The clock the pauses between words run on (the system clock when null).</param>
/// <param name="wordDelay">How long to pause between words, so the reply visibly streams (15 ms when null).</param>
/// <param name="beforeWord">
/// A test's pacing hook: awaited before each word of a reply instead of the pause (the web sample's <c>Demo:TestHooks</c>).
/// </param>
internal sealed partial class OfflineDemoChatClient(TimeProvider? time = null, TimeSpan? wordDelay = null, Func<CancellationToken, Task>? beforeWord = null)
    : IChatClient
{
    public const string ProviderId = "demo";

    public const string ChatModelId = "offline-demo";

    /// <summary>The same client under another id, used for titles: it answers with the first words of the message.</summary>
    public const string TitleModelId = "offline-demo-titles";

    /// <summary>The chat model.</summary>
    public static ModelInfo Model { get; } =
        new(ProviderId, ChatModelId, contextWindow: 32_000, maxOutputTokens: 1_000, new ModelPricing(1m, 5m));

    /// <summary>The title model.</summary>
    public static ModelInfo TitleModel { get; } =
        new(ProviderId, TitleModelId, contextWindow: 32_000, maxOutputTokens: 100, new ModelPricing(1m, 5m));

    /// <summary>Both models, to register with <c>AddChatClient</c>.</summary>
    public static IReadOnlyList<ModelInfo> Models { get; } = [Model, TitleModel];

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly TimeSpan _wordDelay = wordDelay ?? TimeSpan.FromMilliseconds(15);

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var prompt = messages.ToList();
        long input = Math.Max(1, prompt.Sum(static m => (long)m.Text.Length) / 4);
        string modelId = options?.ModelId ?? ChatModelId;
        string said = prompt.LastOrDefault(static m => m.Role == ChatRole.User)?.Text.Trim() ?? "";

        if (modelId != TitleModelId && WantsTool(prompt, said, options) is { } tool)
        {
            var arguments = new Dictionary<string, object?>();
            if (tool.Name.EndsWith("_note", StringComparison.Ordinal))
            {
                arguments["text"] = said;
            }

            var call = new FunctionCallContent("call_" + Guid.NewGuid().ToString("N")[..12], tool.Name, arguments);
            yield return new ChatResponseUpdate(ChatRole.Assistant, [call]) { ModelId = modelId };
            yield return Finish(modelId, ChatFinishReason.ToolCalls, input, output: 12);
            yield break;
        }

        if (modelId == TitleModelId)
        {
            // A title comes back in one piece, at once: it is short, and nobody watches it stream.
            string title = Title(said);
            yield return new ChatResponseUpdate(ChatRole.Assistant, title) { ModelId = modelId };
            yield return Finish(modelId, ChatFinishReason.Stop, input, output: title.Split(' ').Length);
            yield break;
        }

        string reply = Reply(prompt, said, options);
        string[] words = reply.Split(' ');
        for (int i = 0; i < words.Length; i++)
        {
            if (beforeWord is not null)
            {
                await beforeWord(cancellationToken);
            }
            else if (i > 0 && _wordDelay > TimeSpan.Zero)
            {
                await Task.Delay(_wordDelay, _time, cancellationToken);
            }

            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, i == 0 ? words[i] : " " + words[i]) { ModelId = modelId };
        }

        yield return Finish(modelId, ChatFinishReason.Stop, input, output: words.Length);
    }

    /// <summary>A title: the first six words of the message, capitalized.</summary>
    private static string Title(string said)
    {
        string title = string.Join(' ', Words().Matches(said).Take(6).Select(static m => m.Value));
        return title.Length == 0 ? "Demo chat" : char.ToUpperInvariant(title[0]) + title[1..];
    }

    /// <summary>The reply: what the tool said, a summary, or the user's words repeated.</summary>
    private static string Reply(List<ChatMessage> prompt, string said, ChatOptions? options)
    {
        if (prompt.LastOrDefault()?.Contents.OfType<FunctionResultContent>().FirstOrDefault() is { } result)
        {
            string? name = prompt.SelectMany(static m => m.Contents).OfType<FunctionCallContent>()
                .LastOrDefault(c => c.CallId == result.CallId)?.Name;
            string says = name is not null && name.EndsWith("_time", StringComparison.Ordinal)
                ? $"The {name} tool says it is {result.Result}."
                : $"The {name} tool says: {result.Result}";
            return says + " (Offline demo model: set ANTHROPIC_API_KEY to talk to Claude.)";
        }

        if (options?.Tools is not { Count: > 0 })
        {
            var asked = prompt.Where(static m => m.Role == ChatRole.User).SkipLast(1).Select(static m => Shorten(m.Text)).ToList();
            return $"Summary by the offline demo model: the user sent {asked.Count} messages, most recently \"{asked.LastOrDefault()}\".";
        }

        return "This is AgentCore's offline demo model, not a real one: set ANTHROPIC_API_KEY to talk to Claude. It repeats what "
            + $"you say, and calls a tool when you mention the time or a note. You said: \"{Shorten(said)}\"";
    }

    /// <summary>The offered tool the user's latest message asks for (a note, or the time), when no tool has answered it yet.</summary>
    private static AITool? WantsTool(List<ChatMessage> prompt, string said, ChatOptions? options)
    {
        if (prompt.LastOrDefault()?.Role != ChatRole.User)
        {
            return null;
        }

        string? suffix = NoteWord().IsMatch(said) ? "_note" : TimeWord().IsMatch(said) ? "_time" : null;
        return suffix is null ? null : options?.Tools?.FirstOrDefault(t => t.Name.EndsWith(suffix, StringComparison.Ordinal));
    }

    private static ChatResponseUpdate Finish(string modelId, ChatFinishReason reason, long input, long output) => new()
    {
        Role = ChatRole.Assistant,
        ModelId = modelId,
        FinishReason = reason,
        Contents = [new UsageContent(new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output })],
    };

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "...";

    [GeneratedRegex(@"\btime\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TimeWord();

    [GeneratedRegex(@"\bnote\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex NoteWord();

    [GeneratedRegex(@"[\p{L}\p{N}'-]+")]
    private static partial Regex Words();

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
