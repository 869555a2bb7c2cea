using AgentCore.Tests.Shared;
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

    public EngineHarness(
        Action<AgentCoreOptions>? configure = null,
        Action<IAgentCoreBuilder>? build = null,
        bool inMemory = false,
        ObservedTimeProvider? time = null)
    {
        Time = time ?? new ObservedTimeProvider();
        DataDirectory = Directory.CreateTempSubdirectory("agentcore-engine-").FullName;
        var services = new ServiceCollection();
        var builder = services.AddAgentCore(o =>
        {
            o.DataDirectory = DataDirectory;
            o.DefaultModel = "test/model-1";
            o.GenerateTitles = false;
            o.IncludeEnvironment = false;   // prompts independent of the machine running the tests
            o.IncludeContextFiles = false;
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

    public ObservedTimeProvider Time { get; }

    public ISessionService Sessions => _provider.GetRequiredService<ISessionService>();

    public ISessionStore Store => _provider.GetRequiredService<ISessionStore>();

    public ISessionHistory History => _provider.GetRequiredService<ISessionHistory>();

    public ISessionEvents Events => _provider.GetRequiredService<ISessionEvents>();

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

    /// <summary>Runs a turn and returns its events and the exception the stream ended with, if any.</summary>
    public Task<TurnResult> ChatCapturingAsync(string sessionId, string text, CancellationToken cancellationToken = default) =>
        CaptureAsync(Sessions.ChatStreamingAsync(new ChatRequest { SessionId = sessionId, Text = text }, cancellationToken));

    /// <summary>Enumerates a turn's stream to its end, keeping the events it yielded before any exception.</summary>
    public static async Task<TurnResult> CaptureAsync(IAsyncEnumerable<SessionEvent> stream)
    {
        var events = new List<SessionEvent>();
        try
        {
            await foreach (var e in stream)
            {
                events.Add(e);
            }
        }
        catch (Exception ex)
        {
            return new TurnResult(events, ex);
        }

        return new TurnResult(events, null);
    }

    /// <summary>The full history entries written so far.</summary>
    public async Task<List<SessionHistoryEntry>> ReadHistoryAsync()
    {
        var entries = new List<SessionHistoryEntry>();
        await foreach (var entry in History.ReadAsync())
        {
            entries.Add(entry);
        }

        return entries;
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

    /// <summary>A signal a test awaits: continuations run asynchronously, so the signaller is never hijacked.</summary>
    public static TaskCompletionSource Signal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static AIFunction Tool(string name, Func<string, string> body) =>
        AIFunctionFactory.Create((string input) => body(input), name, $"Test tool {name}.");
}

/// <summary>What a turn's stream yielded, and the exception it ended with.</summary>
internal sealed record TurnResult(List<SessionEvent> Events, Exception? Error)
{
    public TurnCompleted Completed => Events.OfType<TurnCompleted>().Single();
}
