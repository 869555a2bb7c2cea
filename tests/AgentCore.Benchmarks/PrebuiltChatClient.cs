using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace AgentCore.Benchmarks;

/// <summary>
/// The model every system in the side-by-side benchmarks talks to: its replies are built once, up front, so a call
/// costs next to nothing and what is measured is the framework around it.
/// </summary>
/// <remarks>
/// A call that follows fewer than <see cref="ToolSteps"/> tool results (counted after the last user message) asks for
/// the tool <c>count</c> once (a fresh <see cref="FunctionCallContent"/>, because a function-invoking client marks the
/// calls it handled); any other call streams <see cref="TextUpdates"/> text updates of four characters and then usage.
/// </remarks>
internal sealed class PrebuiltChatClient : IChatClient
{
    public const string ToolName = "count";
    private readonly ChatResponseUpdate[] _text;
    private readonly ChatResponseUpdate _finish;
    private readonly IDictionary<string, object?>[] _arguments;
    private readonly string[] _callIds;
    private readonly UsageDetails _stepUsage = new() { InputTokenCount = 100, OutputTokenCount = 10, TotalTokenCount = 110 };

    public PrebuiltChatClient(int toolSteps, int textUpdates)
    {
        ToolSteps = toolSteps;
        TextUpdates = textUpdates;
        _text = new ChatResponseUpdate[textUpdates];
        for (int i = 0; i < textUpdates; i++)
        {
            _text[i] = new ChatResponseUpdate(ChatRole.Assistant, "tok ") { MessageId = "reply" };
        }

        _finish = new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = 1_000, OutputTokenCount = textUpdates, TotalTokenCount = 1_000 + textUpdates })])
        {
            MessageId = "reply",
            FinishReason = ChatFinishReason.Stop,
        };
        _arguments = new IDictionary<string, object?>[toolSteps];
        _callIds = new string[toolSteps];
        for (int i = 0; i < toolSteps; i++)
        {
            _arguments[i] = new Dictionary<string, object?> { ["n"] = i };
            _callIds[i] = "call_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public int ToolSteps { get; }

    public int TextUpdates { get; }

    /// <summary>The tool the replies call: adds one.</summary>
    public static AIFunction Tool { get; } = AIFunctionFactory.Create((int n) => n + 1, ToolName);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        int step = ToolResultsSinceUser(messages);
        if (step < ToolSteps)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent(_callIds[step], ToolName, _arguments[step]), new UsageContent(_stepUsage)])
            {
                MessageId = _callIds[step],
                FinishReason = ChatFinishReason.ToolCalls,
            };
            yield break;
        }

        foreach (var update in _text)
        {
            yield return update;
        }

        yield return _finish;
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken).ConfigureAwait(false);

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    private static int ToolResultsSinceUser(IEnumerable<ChatMessage> messages)
    {
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        int results = 0;
        for (int i = list.Count - 1; i >= 0 && list[i].Role != ChatRole.User; i--)
        {
            foreach (var content in list[i].Contents)
            {
                if (content is FunctionResultContent)
                {
                    results++;
                }
            }
        }

        return results;
    }
}
