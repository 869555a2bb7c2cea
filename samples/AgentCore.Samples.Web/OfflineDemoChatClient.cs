using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;

namespace AgentCore.Samples.Web;

/// <summary>
/// An offline demo model, so the sample runs anywhere: no network, no API key, and no intelligence. It says plainly
/// what it is, repeats the user's message word by word (with usage, like a real model), calls the
/// <c>current_time</c> tool when the user mentions the time, and names sessions after the first words of their
/// first message. Set <c>ANTHROPIC_API_KEY</c> to talk to Claude instead.
/// </summary>
internal sealed partial class OfflineDemoChatClient(TimeProvider time, TimeSpan wordDelay) : IChatClient
{
    public const string ProviderId = "demo";
    public const string ChatModelId = "offline-demo";
    public const string TitleModelId = "offline-titles";

    /// <summary>
    /// The demo models as AgentCore sees them. The prices are made up (nothing is charged) so the page has a cost to show.
    /// </summary>
    public static IReadOnlyList<ModelInfo> Models { get; } =
    [
        new(ProviderId, ChatModelId, contextWindow: 32_000, maxOutputTokens: 1_000, new ModelPricing(InputPerMillion: 3m, OutputPerMillion: 15m)),
        new(ProviderId, TitleModelId, contextWindow: 32_000, maxOutputTokens: 100, ModelPricing.Free),
    ];

    /// <summary>The first sentence of every chat reply.</summary>
    public const string Introduction = "I am AgentCore's offline demo model, not a real one (set ANTHROPIC_API_KEY to talk to Claude).";

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var prompt = messages.ToList();
        string modelId = options?.ModelId ?? ChatModelId;
        var last = prompt.LastOrDefault();
        string said = prompt.LastOrDefault(static m => m.Role == ChatRole.User)?.Text.Trim() ?? "";

        if (modelId == TitleModelId)
        {
            string title = Title(said);
            yield return new ChatResponseUpdate(ChatRole.Assistant, title) { ModelId = modelId };
            yield return Finish(modelId, prompt, title, ChatFinishReason.Stop);
            yield break;
        }

        if (last?.Role == ChatRole.User && NoteWord().IsMatch(said) && options?.Tools?.Any(static t => t.Name == SampleTools.SaveNoteName) == true)
        {
            var call = new FunctionCallContent("call_" + Guid.NewGuid().ToString("N")[..12], SampleTools.SaveNoteName, new Dictionary<string, object?> { ["text"] = said });
            yield return new ChatResponseUpdate(ChatRole.Assistant, [call]) { ModelId = modelId };
            yield return Finish(modelId, prompt, "", ChatFinishReason.ToolCalls);
            yield break;
        }

        if (last?.Role == ChatRole.User && TimeWord().IsMatch(said) && options?.Tools?.Any(static t => t.Name == SampleTools.CurrentTimeName) == true)
        {
            var call = new FunctionCallContent("call_" + Guid.NewGuid().ToString("N")[..12], SampleTools.CurrentTimeName, new Dictionary<string, object?>());
            yield return new ChatResponseUpdate(ChatRole.Assistant, [call]) { ModelId = modelId };
            yield return Finish(modelId, prompt, "", ChatFinishReason.ToolCalls);
            yield break;
        }

        string? calledTool = prompt.SelectMany(static m => m.Contents).OfType<FunctionCallContent>().LastOrDefault()?.Name;
        string reply = last?.Contents.OfType<FunctionResultContent>().FirstOrDefault() is { } result
            ? calledTool == SampleTools.SaveNoteName
                ? $"The {SampleTools.SaveNoteName} tool says: {result.Result}. {Introduction}"
                : $"The {SampleTools.CurrentTimeName} tool says it is {result.Result}. {Introduction}"
            : $"{Introduction} You said: \"{said}\". Mention the time to see me call a tool.";

        string[] words = reply.Split(' ');
        for (int i = 0; i < words.Length; i++)
        {
            if (i > 0 && wordDelay > TimeSpan.Zero)
            {
                await Task.Delay(wordDelay, time, cancellationToken);
            }

            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, i == 0 ? words[i] : " " + words[i]) { ModelId = modelId };
        }

        yield return Finish(modelId, prompt, reply, ChatFinishReason.Stop);
    }

    /// <summary>The last update: the finish reason and rough token counts of <paramref name="text"/> (one per word), so usage shows up like a real model's.</summary>
    private static ChatResponseUpdate Finish(string modelId, List<ChatMessage> prompt, string text, ChatFinishReason reason)
    {
        long input = prompt.Sum(static m => (long)CountWords(m.Text));
        long output = Math.Max(1, CountWords(text));
        var usage = new UsageContent(new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output });
        return new ChatResponseUpdate(ChatRole.Assistant, [usage]) { ModelId = modelId, FinishReason = reason };
    }

    /// <summary>A title made of the first six words of the first message.</summary>
    private static string Title(string said)
    {
        string[] words = said.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string title = string.Join(' ', words.Take(6)).TrimEnd('.', '!', '?', ',', ';', ':');
        return title.Length == 0 ? "Untitled" : title;
    }

    private static int CountWords(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;

    [GeneratedRegex(@"\bnote\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex NoteWord();

    [GeneratedRegex(@"\btime\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TimeWord();

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
