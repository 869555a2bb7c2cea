using System.Runtime.CompilerServices;
using AgentCore.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCore.Benchmarks;

/// <summary>The workloads the benchmarks and the quick mode measure, shared so both measure the same thing.</summary>
internal static class Scenarios
{
    public const int ReplyUpdates = 4_000;
    public static readonly ModelInfo Model = new("bench", "model", 200_000, 8_000, new ModelPricing(3m, 15m, 0.3m, 3.75m));

    /// <summary>A reply of <paramref name="updates"/> text updates of 4 characters each, then usage.</summary>
    public static ScriptedResponse Reply(int updates, Action? betweenUpdates = null)
    {
        var response = new ScriptedResponse();
        for (int i = 0; i < updates; i++)
        {
            response.Text("tok ");
            if (betweenUpdates is not null)
            {
                response.Then(betweenUpdates);
            }
        }

        return response.Usage(input: 1_000, output: updates).Finish(ChatFinishReason.Stop);
    }

    public static ServiceProvider Services(string dataDirectory, IChatClient client, Action<IAgentCoreBuilder>? build = null, TimeProvider? time = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddAgentCore(o =>
        {
            o.DataDirectory = dataDirectory;
            o.DefaultModel = Model.Reference;
            o.GenerateTitles = false;
            o.IncludeContextFiles = false;
        });
        builder.AddChatClient(Model.ProviderId, client, [Model]);
        build?.Invoke(builder);
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        return services.BuildServiceProvider();
    }

    public static async Task<int> EnumerateRawAsync(IChatClient client)
    {
        int count = 0;
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "go")]).ConfigureAwait(false))
        {
            count += update.Contents.Count;
        }

        return count;
    }

    public static async Task<int> ChatAsync(ISessionService sessions, string sessionId)
    {
        int count = 0;
        await foreach (var e in sessions.ChatStreamingAsync(new ChatRequest { SessionId = sessionId, Text = "go" }).ConfigureAwait(false))
        {
            count++;
        }

        return count;
    }

    public static string TempDirectory(string name) => Directory.CreateTempSubdirectory("agentcore-bench-" + name + "-").FullName;

    public static void Delete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// Wraps a chat client so that updates arrive in bursts of <paramref name="burst"/>, one burst every
/// <paramref name="interval"/>, as a streamed HTTP response arrives in network reads. Used to state the overhead
/// at a realistic model speed (a fast model streams a few hundred tokens a second; this is faster).
/// </summary>
internal sealed class PacedChatClient(IChatClient inner, int burst, TimeSpan interval) : DelegatingChatClient(inner)
{
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        int count = 0;
        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            if (count++ % burst == 0)
            {
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
            }

            yield return update;
        }
    }
}
