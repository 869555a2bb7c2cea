using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace AgentCore.Samples.Chat;

/// <summary>
/// An offline demo model, so the sample runs anywhere: no network, no API key, and no intelligence. It streams
/// a short reply that says plainly what it is and repeats the user's last message. Swap in a real
/// <see cref="IChatClient"/> (Anthropic, OpenAI, Ollama, ...) to talk to a model.
/// </summary>
internal sealed class OfflineDemoChatClient : IChatClient
{
    public const string ProviderId = "demo";
    public const string ModelId = "offline-demo";

    /// <summary>How AgentCore should see this model: its limits and (zero) prices.</summary>
    public static ModelInfo Model { get; } = new(ProviderId, ModelId, contextWindow: 32_000, maxOutputTokens: 1_000, ModelPricing.Free);

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var prompt = messages.ToList();
        string said = prompt.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "";
        string reply = $"This is AgentCore's offline demo model, not a real one: it only repeats what you say. You said: \"{said}\"";

        string[] words = reply.Split(' ');
        for (int i = 0; i < words.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, i == 0 ? words[i] : " " + words[i]) { ModelId = ModelId };
        }

        // Rough token counts (one per word), so usage shows up like a real model's.
        long input = prompt.Sum(m => (long)m.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            ModelId = ModelId,
            FinishReason = ChatFinishReason.Stop,
            Contents = [new UsageContent(new UsageDetails { InputTokenCount = input, OutputTokenCount = words.Length, TotalTokenCount = input + words.Length })],
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
