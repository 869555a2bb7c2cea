using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace AgentCore.Testing;

/// <summary>
/// An <see cref="IChatClient"/> that plays back scripted responses, one per call, and records every call:
/// for testing code built on AgentCore without a model.
/// </summary>
/// <example>
/// <code>
/// var client = new ScriptedChatClient()
///     .Enqueue(r =&gt; r.ToolCall("call_1", "get_weather", new { city = "Oslo" }).Usage(input: 120, output: 12))
///     .Enqueue(r =&gt; r.Text("It is sunny in Oslo.").Usage(input: 160, output: 8));
/// </code>
/// </example>
public sealed class ScriptedChatClient : IChatClient
{
    private readonly ConcurrentQueue<ScriptedResponse> _responses = new();
    private readonly ConcurrentQueue<ScriptedCall> _calls = new();
    private readonly Func<ScriptedCall, ScriptedResponse>? _fallback;

    /// <summary>Creates a client with an empty script; a call with nothing left to play throws.</summary>
    public ScriptedChatClient()
    {
    }

    /// <summary>Creates a client that answers with <paramref name="fallback"/> whenever the queue is empty.</summary>
    /// <param name="fallback">Builds the response to a call that finds the queue empty.</param>
    public ScriptedChatClient(Func<ScriptedCall, ScriptedResponse> fallback) => _fallback = fallback;

    /// <summary>Every call made so far, in order.</summary>
    public IReadOnlyList<ScriptedCall> Calls => _calls.ToArray();

    /// <summary>How many scripted responses are left.</summary>
    public int Remaining => _responses.Count;

    /// <summary>Queues the response to the next call.</summary>
    /// <param name="response">The response to play.</param>
    /// <returns>This client, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="response"/> is null.</exception>
    public ScriptedChatClient Enqueue(ScriptedResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        _responses.Enqueue(response);
        return this;
    }

    /// <summary>Queues the response to the next call, built by <paramref name="build"/>.</summary>
    /// <param name="build">Adds the steps of the response.</param>
    /// <returns>This client, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="build"/> is null.</exception>
    public ScriptedChatClient Enqueue(Action<ScriptedResponse> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        var response = new ScriptedResponse();
        build(response);
        return Enqueue(response);
    }

    /// <summary>Queues a plain text reply.</summary>
    /// <param name="text">The reply.</param>
    /// <param name="input">The input tokens the reply reports.</param>
    /// <param name="output">The output tokens the reply reports.</param>
    /// <returns>This client, for chaining.</returns>
    public ScriptedChatClient EnqueueText(string text, long input = 0, long output = 0) =>
        Enqueue(r => r.Text(text).Usage(input, output));

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var call = new ScriptedCall(messages.ToList(), options?.Clone());
        _calls.Enqueue(call);
        cancellationToken.ThrowIfCancellationRequested();

        if (!_responses.TryDequeue(out var response))
        {
            response = _fallback?.Invoke(call) ?? throw new InvalidOperationException(
                $"ScriptedChatClient has no response left for call {_calls.Count}. Enqueue one per expected model call.");
        }

        string responseId = "resp_" + _calls.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var step in response.Steps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            switch (step)
            {
                case ScriptedResponse.Emit emit:
                    var update = emit.Create();
                    update.ResponseId ??= responseId;
                    update.ModelId ??= options?.ModelId;
                    yield return update;
                    break;
                case ScriptedResponse.Fail fail:
                    throw fail.Exception;
                case ScriptedResponse.Wait wait:
                    await wait.Until(cancellationToken).WaitAsync(cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
