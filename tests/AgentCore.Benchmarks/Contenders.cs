using System.Diagnostics;
using AgentCore.TestInfrastructure;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCore.Benchmarks;

/// <summary>One timed run: wall-clock milliseconds and bytes allocated by the whole process meanwhile.</summary>
internal readonly record struct Sample(double Ms, long AllocatedBytes);

/// <summary>
/// A system measured side by side: <see cref="Prepare"/> does the untimed set-up of one run (a new session, say) and
/// returns the work that is timed.
/// </summary>
internal sealed record Contender(string Name, Func<Task<Func<Task>>> Prepare);

/// <summary>Runs contenders interleaved (A B C D, A B C D, …) in this process and summarises their samples.</summary>
internal static class Interleaved
{
    /// <summary>
    /// The least time the warm-up rounds of a scenario take (more rounds are run until it has passed, up to
    /// <see cref="MaxWarmupFactor"/> times the rounds asked for): tiered compilation moves a method to optimized code
    /// only after it has been called 30 times and no new method was compiled for 100 ms, in the background, so a
    /// warm-up counted in rounds alone left most of the measured runs of a fast system in unoptimized code.
    /// </summary>
    public static TimeSpan MinimumWarmup { get; set; } = TimeSpan.FromSeconds(2);

    private const int MaxWarmupFactor = 25;

    public static async Task<Dictionary<string, List<Sample>>> RunAsync(IReadOnlyList<Contender> contenders, int warmup, int rounds)
    {
        var samples = contenders.ToDictionary(c => c.Name, _ => new List<Sample>(rounds));
        long warming = Stopwatch.GetTimestamp();
        for (int round = 0; round < warmup || (round < warmup * MaxWarmupFactor && Stopwatch.GetElapsedTime(warming) < MinimumWarmup); round++)
        {
            await RoundAsync(contenders, samples: null);
        }

        for (int round = 0; round < rounds; round++)
        {
            await RoundAsync(contenders, samples);
        }

        return samples;
    }

    private static async Task RoundAsync(IReadOnlyList<Contender> contenders, Dictionary<string, List<Sample>>? samples)
    {
        foreach (var contender in contenders)
        {
            var work = await contender.Prepare();
            long allocated = GC.GetTotalAllocatedBytes(precise: true);
            long start = Stopwatch.GetTimestamp();
            await work();
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
            samples?[contender.Name].Add(new Sample(ms, allocated));
        }
    }

    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        double rank = p * (sorted.Length - 1);
        int low = (int)Math.Floor(rank);
        int high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    public static double Median(IEnumerable<double> values) => Percentile(values, 0.5);
}

/// <summary>
/// The stores AgentCore runs on in the benchmarks, each in its own temporary folder (and, for PostgreSQL, its own
/// database in one throwaway cluster started once per process).
/// </summary>
internal sealed class BenchStores : IAsyncDisposable
{
    private static readonly string[] Local = ["in-memory", "file", "sqlite"];
    private readonly List<string> _directories = [];
    private TemporaryPostgres? _postgres;
    private bool _postgresTried;
    private string? _postgresSkipped;

    public async Task<IReadOnlyList<string>> NamesAsync()
    {
        if (!_postgresTried)
        {
            _postgresTried = true;
            _postgresSkipped = TemporaryPostgres.NotInstalledReason;
            if (_postgresSkipped is null)
            {
                try
                {
                    _postgres = await TemporaryPostgres.StartAsync();
                }
                catch (InvalidOperationException ex)
                {
                    _postgresSkipped = "the throwaway cluster did not start: " + ex.Message;
                }
            }

            if (_postgres is null)
            {
                Console.WriteLine($"Skipping the PostgreSQL store: {_postgresSkipped}");
            }
        }

        return _postgres is null ? Local : [.. Local, "postgresql"];
    }

    /// <summary>The throwaway cluster, once <see cref="NamesAsync"/> started it.</summary>
    public TemporaryPostgres? Postgres => _postgres;

    /// <summary>An AgentCore container on <paramref name="store"/> over <paramref name="client"/>, with the tool <c>count</c>.</summary>
    public BenchAgentCore Create(string store, IChatClient client, Action<IAgentCoreBuilder>? build = null)
    {
        string dir = Scenarios.TempDirectory(store);
        _directories.Add(dir);
        string? connectionString = store == "postgresql" ? _postgres!.CreateDatabase() : null;
        var services = Scenarios.Services(dir, client, b =>
        {
            b.AddTool(PrebuiltChatClient.Tool);
            switch (store)
            {
                case "in-memory": b.UseInMemoryStore(); break;
                case "sqlite": b.UseSqlite(Path.Combine(dir, "agentcore.db")); break;
                case "postgresql": b.UsePostgreSql(connectionString!); break;
            }

            build?.Invoke(b);
        });
        return new BenchAgentCore(store, dir, connectionString, services);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var dir in _directories)
        {
            Scenarios.Delete(dir);
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}

/// <summary>AgentCore on one store: the container and what the scenarios use from it.</summary>
internal sealed class BenchAgentCore(string store, string directory, string? connectionString, ServiceProvider services) : IAsyncDisposable
{
    public string Store { get; } = store;
    public string Directory { get; } = directory;
    public string? ConnectionString { get; } = connectionString;
    public ServiceProvider Services { get; } = services;
    public ISessionService Sessions { get; } = services.GetRequiredService<ISessionService>();
    public ISessionStore SessionStore { get; } = services.GetRequiredService<ISessionStore>();

    public Task<SessionMessage> TurnAsync(string sessionId, string text = "count to ten") =>
        Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Text = text });

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}

/// <summary>The three systems AgentCore is measured against, over the same <see cref="PrebuiltChatClient"/>.</summary>
internal static class Baselines
{
    private static readonly ChatOptions ToolOptions = new() { Tools = [PrebuiltChatClient.Tool] };

    /// <summary>The raw client with the smallest loop that runs the tools: what any framework adds is above this.</summary>
    public static async Task<List<ChatMessage>> RawAsync(IChatClient client, string text = "count to ten")
    {
        var messages = new List<ChatMessage> { new(ChatRole.User, text) };
        while (true)
        {
            var updates = new List<ChatResponseUpdate>();
            await foreach (var update in client.GetStreamingResponseAsync(messages, ToolOptions))
            {
                updates.Add(update);
            }

            var response = updates.ToChatResponse();
            messages.AddRange(response.Messages);
            var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
            if (calls.Count == 0)
            {
                return messages;
            }

            foreach (var call in calls)
            {
                object? result = await PrebuiltChatClient.Tool.InvokeAsync(new AIFunctionArguments(call.Arguments));
                messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, result)]));
            }
        }
    }

    /// <summary>M.E.AI's <see cref="FunctionInvokingChatClient"/> over the client: the turn's messages.</summary>
    public static async Task<List<ChatMessage>> FunctionInvokingAsync(FunctionInvokingChatClient client, string text = "count to ten")
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, text)], ToolOptions))
        {
            updates.Add(update);
        }

        return [.. updates.ToChatResponse().Messages];
    }

    /// <summary>Agent Framework's <see cref="ChatClientAgent"/> over the client, with the tool.</summary>
    public static ChatClientAgent Agent(IChatClient client) =>
        new(client, new ChatClientAgentOptions { ChatOptions = new ChatOptions { Tools = [PrebuiltChatClient.Tool] } });

    public static async Task<int> AgentTurnAsync(ChatClientAgent agent, AgentSession session, string text = "count to ten")
    {
        int count = 0;
        await foreach (var update in agent.RunStreamingAsync(text, session))
        {
            count++;
        }

        return count;
    }

    /// <summary>Tool results and reply text in an agent session's in-memory history.</summary>
    public static (int Results, string Text) AgentHistory(AgentSession session) =>
        session.TryGetInMemoryChatHistory(out var messages) && messages is not null
            ? (messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Count(), messages[^1].Text)
            : (0, "");
}
