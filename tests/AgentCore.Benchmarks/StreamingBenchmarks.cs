using AgentCore.Testing;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCore.Benchmarks;

/// <summary>A 4 000-update reply: enumerating the scripted client directly (baseline) vs a whole turn on the file store.</summary>
[MemoryDiagnoser]
public class StreamingBenchmarks
{
    private string _directory = "";
    private ServiceProvider? _services;
    private ISessionService? _sessions;
    private ScriptedChatClient? _client;
    private string _sessionId = "";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Scenarios.TempDirectory("bdn-stream");
        _client = new ScriptedChatClient(_ => Scenarios.Reply(Scenarios.ReplyUpdates));
        _services = Scenarios.Services(_directory, _client);
        _sessions = _services.GetRequiredService<ISessionService>();
        _sessionId = (await _sessions.CreateAsync()).Id;
    }

    [IterationSetup(Target = nameof(Turn))]
    public void NewSession() => _sessionId = _sessions!.CreateAsync().GetAwaiter().GetResult().Id;

    [Benchmark(Baseline = true)]
    public Task<int> RawEnumeration() => Scenarios.EnumerateRawAsync(_client!);

    [Benchmark]
    public Task<int> Turn() => Scenarios.ChatAsync(_sessions!, _sessionId);

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _services!.DisposeAsync();
        Scenarios.Delete(_directory);
    }
}

/// <summary>Loading a 10 000-message session and listing 10 000 sessions, per built-in store.</summary>
[MemoryDiagnoser]
public class StoreBenchmarks
{
    private string _directory = "";
    private ServiceProvider? _services;
    private ISessionStore? _store;
    private string _sessionId = "";

    [Params("file", "in-memory")]
    public string Store { get; set; } = "file";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Scenarios.TempDirectory("bdn-store");
        _services = Scenarios.Services(_directory, new ScriptedChatClient(), Store == "in-memory" ? b => b.UseInMemoryStore() : null);
        _store = _services.GetRequiredService<ISessionStore>();
        _sessionId = AgentCoreIds.NewSessionId();
        await _store.SaveSessionAsync(new SessionInfo { Id = _sessionId, Title = "big", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow });
        for (int i = 0; i < 10_000; i++)
        {
            await _store.SaveMessageAsync(Fixtures.Message(_sessionId, i));
            await _store.SaveSessionAsync(Fixtures.Session(i));
        }
    }

    [Benchmark]
    public async Task<int> Load10000Messages() => (await _store!.GetMessagesAsync(_sessionId)).Count;

    [Benchmark]
    public async Task<int> List10000Sessions()
    {
        int count = 0;
        await foreach (var _ in _store!.ListSessionsAsync())
        {
            count++;
        }

        return count;
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _services!.DisposeAsync();
        Scenarios.Delete(_directory);
    }
}

/// <summary>Streaming 100 000 history entries and adding them up by model and day.</summary>
[MemoryDiagnoser]
public class HistoryBenchmarks
{
    private string _directory = "";
    private JsonlSessionHistory? _history;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Scenarios.TempDirectory("bdn-history");
        _history = new JsonlSessionHistory(_directory);
        await Fixtures.WriteHistoryAsync(_history.FilePath, 100_000);
    }

    [Benchmark]
    public async Task<int> Aggregate100000()
    {
        var totals = new Dictionary<(string, DateOnly), decimal>();
        await foreach (var entry in _history!.ReadAsync())
        {
            var key = (entry.Model, DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(entry.Timestamp).UtcDateTime));
            totals[key] = totals.GetValueOrDefault(key) + (entry.Cost.UsdByok ?? 0);
        }

        return totals.Count;
    }

    [GlobalCleanup]
    public void Cleanup() => Scenarios.Delete(_directory);
}
