using AgentCore.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCore.Tests.Engine;

/// <summary>
/// A service provider with AgentCore over a <see cref="ScriptedChatClient"/>, a manual clock and a temp
/// data directory (file store and JSONL history, as in production), deleted on dispose.
/// </summary>
internal sealed class EngineHarness : IAsyncDisposable
{
    public static readonly ModelPricing Pricing = new(InputPerMillion: 3m, OutputPerMillion: 15m, CacheReadPerMillion: 0.3m, CacheWritePerMillion: 3.75m);

    private readonly ServiceProvider _provider;

    public EngineHarness(Action<AgentCoreOptions>? configure = null, Action<IAgentCoreBuilder>? build = null, bool inMemory = false)
    {
        DataDirectory = Directory.CreateTempSubdirectory("agentcore-engine-").FullName;
        var services = new ServiceCollection();
        var builder = services.AddAgentCore(o =>
        {
            o.DataDirectory = DataDirectory;
            o.DefaultModel = "test/model-1";
            o.GenerateTitles = false;
            configure?.Invoke(o);
        });
        builder.AddChatClient("test", Client, [new ModelInfo("test", "model-1", 200_000, 8_000, Pricing), new ModelInfo("test", "model-2", 8_000, 1_000)]);
        if (inMemory)
        {
            builder.UseInMemoryStore();
        }

        build?.Invoke(builder);
        services.AddSingleton<TimeProvider>(Time);
        _provider = services.BuildServiceProvider();
    }

    public string DataDirectory { get; }

    public ScriptedChatClient Client { get; } = new();

    public ManualTimeProvider Time { get; } = new();

    public ISessionService Sessions => _provider.GetRequiredService<ISessionService>();

    public ISessionStore Store => _provider.GetRequiredService<ISessionStore>();

    public ISessionHistory History => _provider.GetRequiredService<ISessionHistory>();

    public IServiceProvider Services => _provider;

    public async Task<List<SessionEvent>> ChatAsync(string sessionId, string text, CancellationToken cancellationToken = default)
    {
        var events = new List<SessionEvent>();
        await foreach (var e in Sessions.ChatStreamingAsync(new ChatRequest { SessionId = sessionId, Text = text }, cancellationToken))
        {
            events.Add(e);
        }

        return events;
    }

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static AIFunction Tool(string name, Func<string, string> body) =>
        AIFunctionFactory.Create((string input) => body(input), name, $"Test tool {name}.");
}
