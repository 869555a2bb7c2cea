using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace AgentCore.Samples.Chat;

/// <summary>
/// An offline demo model, so the sample runs anywhere: no network, no API key, and no intelligence. It says plainly
/// what it is, streams its reply word by word and reports token usage like a real model. When your message mentions
/// the time it calls the <c>get_time</c> tool, and when it mentions a note, the <c>save_note</c> tool (which asks for your
/// approval first), so tool calls show too. Its prices are pretend: nothing is billed.
/// Swap in a real <see cref="IChatClient"/> (Anthropic, OpenAI, Ollama, ...) to talk to a model.
/// </summary>
internal sealed partial class OfflineDemoChatClient : IChatClient
{
    public const string ProviderId = "demo";

    /// <summary>The chat model.</summary>
    public static ModelInfo Model { get; } =
        new(ProviderId, "offline-demo", contextWindow: 32_000, maxOutputTokens: 1_000, new ModelPricing(1m, 5m));

    /// <summary>The same client under another id, used for titles: it answers with the first words of the message.</summary>
    public static ModelInfo TitleModel { get; } =
        new(ProviderId, "offline-demo-titles", contextWindow: 32_000, maxOutputTokens: 100, new ModelPricing(1m, 5m));

    /// <summary>How long the demo pauses between words, so the reply visibly streams.</summary>
    private static readonly TimeSpan WordPause = TimeSpan.FromMilliseconds(15);

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var prompt = messages.ToList();
        long input = Math.Max(1, prompt.Sum(m => (long)m.Text.Length) / 4);
        string modelId = options?.ModelId ?? Model.ModelId;

        if (WantsTool(prompt, options) is { } tool)
        {
            var arguments = new Dictionary<string, object?>();
            if (tool.Name == LocalTools.SaveNoteName)
            {
                arguments["text"] = prompt[^1].Text.Trim();
            }

            var call = new FunctionCallContent("call_" + Guid.NewGuid().ToString("N")[..12], tool.Name, arguments);
            yield return new ChatResponseUpdate(ChatRole.Assistant, [call]) { ModelId = modelId };
            yield return Finish(modelId, ChatFinishReason.ToolCalls, input, output: 12);
            yield break;
        }

        string reply = Reply(prompt, options);
        string[] words = reply.Split(' ');
        for (int i = 0; i < words.Length; i++)
        {
            await Task.Delay(WordPause, cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, i == 0 ? words[i] : " " + words[i]) { ModelId = modelId };
        }

        yield return Finish(modelId, ChatFinishReason.Stop, input, output: words.Length);
    }

    /// <summary>The reply: a title, a summary, what the tool said, or the user's words repeated.</summary>
    private static string Reply(List<ChatMessage> prompt, ChatOptions? options)
    {
        string said = prompt.LastOrDefault(m => m.Role == ChatRole.User)?.Text.Trim() ?? "";
        if (options?.ModelId == TitleModel.ModelId)
        {
            string title = string.Join(' ', Words().Matches(said).Take(6).Select(m => m.Value));
            return title.Length == 0 ? "Demo chat" : char.ToUpperInvariant(title[0]) + title[1..];
        }

        if (prompt.LastOrDefault() is { Role: var role } last && role == ChatRole.Tool)
        {
            string result = string.Join("; ", last.Contents.OfType<FunctionResultContent>().Select(r => r.Result?.ToString()));
            string? name = prompt.SelectMany(m => m.Contents).OfType<FunctionCallContent>().LastOrDefault()?.Name;
            return name == LocalTools.GetTimeName
                ? $"(Offline demo model.) The get_time tool says it is {result}."
                : $"(Offline demo model.) The {name} tool says: {result}";
        }

        if (options?.Tools is not { Count: > 0 })
        {
            // A request without tools is a compaction summary: the demo writes a plain digest.
            var asked = prompt.Where(m => m.Role == ChatRole.User).SkipLast(1).Select(m => Shorten(m.Text)).ToList();
            return $"Summary by the offline demo model: the user sent {asked.Count} messages, most recently \"{asked.LastOrDefault()}\".";
        }

        return $"This is AgentCore's offline demo model, not a real one: set ANTHROPIC_API_KEY to talk to Claude. It repeats what you say, calls get_time when you ask about the time and save_note when you mention a note. You said: \"{Shorten(said)}\"";
    }

    /// <summary>The tool the user's latest message asks for (the time, or a note), when no tool has answered it yet.</summary>
    private static AITool? WantsTool(List<ChatMessage> prompt, ChatOptions? options)
    {
        if (prompt.LastOrDefault()?.Role != ChatRole.User)
        {
            return null;
        }

        string name = NoteWord().IsMatch(prompt[^1].Text) ? LocalTools.SaveNoteName
            : TimeWord().IsMatch(prompt[^1].Text) ? LocalTools.GetTimeName
            : "";
        return options?.Tools?.FirstOrDefault(t => t.Name == name);
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
