using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AgentCore.Testing;
using AgentCore.TestInfrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCore.Benchmarks;

/// <summary>
/// <c>--quick</c>: runs every scenario a few times and prints each figure next to its goal. Medians of wall-clock
/// runs on this machine, not BenchmarkDotNet's statistics: use the full run for publishable numbers.
/// </summary>
internal static partial class Quick
{
    private static readonly List<(string Name, string Figure, string Goal, bool? Met)> Rows = [];

    public static async Task<int> RunAsync(string[] args)
    {
        bool all = !args.Any(a => a.StartsWith("--only=", StringComparison.Ordinal));
        bool Want(string name) => all || args.Contains("--only=" + name);

        Console.WriteLine($"AgentCore quick benchmarks — {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        if (Want("streaming")) await StreamingOverheadAsync();
        if (Want("writes")) await WriteAmplificationAsync();
        if (Want("load")) await LoadAndListAsync();
        if (Want("query")) await QueryAsync();
        if (Want("search")) await SearchAsync();
        if (Want("history")) await HistoryAsync();
        if (Want("concurrency")) await ConcurrencyAsync();
        if (Want("subscribers")) await SubscribersAsync();
        if (Want("relay")) await RelayAsync();

        Console.WriteLine();
        Console.WriteLine($"{"figure",-58} {"measured",-26} {"goal",-12} met");
        foreach (var (name, figure, goal, met) in Rows)
        {
            Console.WriteLine($"{name,-58} {figure,-26} {goal,-12} {(met is null ? "-" : met.Value ? "yes" : "NO")}");
        }

        return Rows.Any(r => r.Met == false) ? 1 : 0;
    }

    private static void Report(string name, string figure, string goal, bool? met) => Rows.Add((name, figure, goal, met));

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[values.Count / 2 - 1] + values[values.Count / 2]) / 2;
    }

    private static async Task<double> TimeAsync(Func<Task> run)
    {
        long start = Stopwatch.GetTimestamp();
        await run();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private static async Task StreamingOverheadAsync()
    {
        // Unpaced: the scripted model costs nothing, so the ratio is all engine overhead (file store included).
        // Paced: 16 updates per network read every 2 ms (≈ 8 000 updates/s, far faster than any hosted model).
        foreach (var (label, interval, runs) in new[] { ("unpaced model", TimeSpan.Zero, 15), ("model paced 16 updates / 2 ms", TimeSpan.FromMilliseconds(2), 7) })
        {
            string dir = Scenarios.TempDirectory("stream");
            var scripted = new ScriptedChatClient(_ => Scenarios.Reply(Scenarios.ReplyUpdates));
            Microsoft.Extensions.AI.IChatClient client = interval == TimeSpan.Zero ? scripted : new PacedChatClient(scripted, 16, interval);
            await using var services = Scenarios.Services(dir, client);
            var sessions = services.GetRequiredService<ISessionService>();
            var raw = new List<double>();
            var turn = new List<double>();
            for (int i = -1; i < runs; i++)
            {
                var session = await sessions.CreateAsync();
                double r = await TimeAsync(() => Scenarios.EnumerateRawAsync(client));
                double t = await TimeAsync(() => Scenarios.ChatAsync(sessions, session.Id));
                if (i >= 0)
                {
                    raw.Add(r);
                    turn.Add(t);
                }
            }

            double mr = Median(raw), mt = Median(turn);
            double ratio = mt / mr;
            Report($"streaming 4 000 updates, {label}: raw / turn ms", $"{mr:F1} / {mt:F1} ({ratio:F2}x)", "≤ 1.15x", interval == TimeSpan.Zero ? null : ratio <= 1.15);
            Report($"  engine overhead per update ({label})", $"{(mt - mr) * 1000 / Scenarios.ReplyUpdates:F2} µs", "", null);
            Scenarios.Delete(dir);
        }
    }

    private static async Task SubscribersAsync()
    {
        // 1 000 subscribers of the session, each reading every event of the turn until TurnCompleted, against none.
        const int Subscribers = 1_000;
        foreach (var (label, interval, runs) in new[] { ("unpaced model", TimeSpan.Zero, 7), ("model paced 16 updates / 2 ms", TimeSpan.FromMilliseconds(2), 5) })
        {
            string dir = Scenarios.TempDirectory("subscribers");
            var scripted = new ScriptedChatClient(_ => Scenarios.Reply(Scenarios.ReplyUpdates));
            Microsoft.Extensions.AI.IChatClient client = interval == TimeSpan.Zero ? scripted : new PacedChatClient(scripted, 16, interval);
            await using var services = Scenarios.Services(dir, client);
            var sessions = services.GetRequiredService<ISessionService>();
            var events = services.GetRequiredService<ISessionEvents>();
            var none = new List<double>();
            var many = new List<double>();
            var delivered = new List<double>();
            int lagged = 0;
            for (int i = -1; i < runs; i++)
            {
                var session = await sessions.CreateAsync();
                double alone = await TimeAsync(() => Scenarios.ChatAsync(sessions, session.Id));

                var readers = Enumerable.Range(0, Subscribers).Select(_ => ReadTurnAsync(events.SubscribeAsync(session.Id))).ToList();
                long start = Stopwatch.GetTimestamp();
                await Scenarios.ChatAsync(sessions, session.Id);
                double withSubscribers = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                var counts = await Task.WhenAll(readers);
                double allDelivered = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                lagged += counts.Count(c => c < 0);
                if (i >= 0)
                {
                    none.Add(alone);
                    many.Add(withSubscribers);
                    delivered.Add(allDelivered);
                }
            }

            double m0 = Median(none), m1 = Median(many), md = Median(delivered);
            double ratio = m1 / m0;
            Report($"turn with 1 000 subscribers, {label}: none / 1 000 ms", $"{m0:F1} / {m1:F1} ({ratio:F2}x)", "≤ 1.2x", interval == TimeSpan.Zero ? null : ratio <= 1.2);
            Report($"  last subscriber done ({label}); subscribers lagged", $"{md:F1} ms; {lagged}", "0 lagged", lagged == 0);
            Scenarios.Delete(dir);
        }

        static async Task<int> ReadTurnAsync(IAsyncEnumerable<SessionEvent> subscription)
        {
            int count = 0;
            try
            {
                await foreach (var e in subscription.ConfigureAwait(false))
                {
                    count++;
                    if (e is TurnCompleted)
                    {
                        break;
                    }
                }
            }
            catch (SubscriberLaggedException)
            {
                return -1;
            }

            return count;
        }
    }

    private static async Task WriteAmplificationAsync()
    {
        string dir = Scenarios.TempDirectory("writes");
        var clock = new ManualTimeProvider();
        // 250 updates per second: the clock moves 4 ms between updates.
        var client = new ScriptedChatClient(_ => Scenarios.Reply(Scenarios.ReplyUpdates, () => clock.Advance(TimeSpan.FromMilliseconds(4))));
        await using var services = Scenarios.Services(dir, client, time: clock);
        var sessions = services.GetRequiredService<ISessionService>();
        var session = await sessions.CreateAsync();
        var message = await sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "go" });

        long journal = new FileInfo(Path.Combine(dir, "messages", session.Id + ".jsonl")).Length;
        var messages = await sessions.GetMessagesAsync(session.Id);
        long finalBytes = messages.Sum(m => (long)JsonSerializer.SerializeToUtf8Bytes(m, AgentCoreJson.Options).Length);
        double ratio = (double)journal / finalBytes;
        Report("write amplification at 250 updates/s (journal / final)", $"{journal:N0} / {finalBytes:N0} B ({ratio:F2}x)", "≤ 3x", ratio <= 3);
        Scenarios.Delete(dir);
        _ = message;
    }

    private static Task LoadAndListAsync() => ForEachStoreAsync(LoadAndListAsync);

    private static Task QueryAsync() => ForEachStoreAsync(QueryAsync);

    private static Task SearchAsync() => ForEachStoreAsync(SearchAsync);

    /// <summary>Runs <paramref name="scenario"/> over the file, in-memory, SQLite and (where installed) PostgreSQL stores.</summary>
    private static async Task ForEachStoreAsync(Func<string, Action<IAgentCoreBuilder, string>?, Task> scenario)
    {
        // PostgreSQL: a throwaway cluster for this run (null where PostgreSQL is not installed), stopped on every way out.
        TemporaryPostgres? started = null;
        string? skipPostgres = TemporaryPostgres.NotInstalledReason;
        try
        {
            started = skipPostgres is null ? await TemporaryPostgres.StartAsync() : null;
        }
        catch (InvalidOperationException ex)
        {
            skipPostgres = "the throwaway cluster did not start: " + ex.Message;
        }

        await using var postgres = started;
        ConsoleCancelEventHandler stopOnCtrlC = (_, _) => postgres?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Console.CancelKeyPress += stopOnCtrlC;
        try
        {
            var stores = new List<(string Name, Action<IAgentCoreBuilder, string>? Build)>
            {
                ("file", null),
                ("in-memory", (b, _) => b.UseInMemoryStore()),
                ("sqlite", (b, dir) => b.UseSqlite(Path.Combine(dir, "agentcore.db"))),
            };
            if (postgres is null)
            {
                Console.WriteLine($"Skipping the PostgreSQL store: {skipPostgres}");
            }
            else
            {
                stores.Add(("postgresql", (b, _) => b.UsePostgreSql(postgres.CreateDatabase())));
            }

            foreach (var (name, build) in stores)
            {
                await scenario(name, build);
            }
        }
        finally
        {
            Console.CancelKeyPress -= stopOnCtrlC;
        }
    }

    private static async Task QueryAsync(string name, Action<IAgentCoreBuilder, string>? build)
    {
        // 10 000 sessions of 200 owners (50 each, spread over the whole listing): one owner's 50, as one page, through
        // ISessionService.ListAsync(SessionQuery). The goal is for the SQL stores, which run the query from an index; the
        // file and in-memory stores filter their session records in memory and are shown for comparison.
        const int Sessions = 10_000, Owners = 200;
        string dir = Scenarios.TempDirectory("query");
        await using (var services = Scenarios.Services(dir, new ScriptedChatClient(), build is null ? null : b => build(b, dir)))
        {
            var store = services.GetRequiredService<ISessionStore>();
            var sessions = services.GetRequiredService<ISessionService>();
            for (int i = 0; i < Sessions; i++)
            {
                await store.SaveSessionAsync(Fixtures.OwnedSession(i, Owners));
            }

            int owner = 0;
            var query = new SessionQuery { PageSize = 50 };
            int listed = 0;
            double median = await SteadyMedianAsync(async () =>
            {
                // A different owner each run, so no run reads what the one before just read.
                var page = await sessions.ListAsync(query with { Metadata = new Dictionary<string, string> { ["owner"] = "user-" + (owner++ % Owners).ToString(CultureInfo.InvariantCulture) } });
                listed = page.Sessions.Count;
            });
            bool sql = name is "sqlite" or "postgresql";
            Report($"list one owner's 50 of 10 000 sessions ({name} store), median", $"{median:F2} ms ({listed} listed)", sql ? "< 5 ms" : "", sql ? median < 5 && listed == 50 : null);
        }

        Scenarios.Delete(dir);
    }

    private static async Task SearchAsync(string name, Action<IAgentCoreBuilder, string>? build)
    {
        // 10 000 sessions × 20 completed messages of 25 words each from a 5 000-word vocabulary, so a word is in about
        // 1 000 messages: ISessionService.SearchAsync for one word (a different one each run) ranks ~1 000 matches and
        // returns the best 20 with snippets. The goal is for the SQL stores, which search an index; the file and
        // in-memory stores scan every message and are shown for comparison.
        const int Sessions = 10_000, PerSession = 20;
        string dir = Scenarios.TempDirectory("search");
        await using (var services = Scenarios.Services(dir, new ScriptedChatClient(), build is null ? null : b => build(b, dir)))
        {
            var store = services.GetRequiredService<ISessionStore>();
            var sessions = services.GetRequiredService<ISessionService>();
            long seeding = Stopwatch.GetTimestamp();
            await Parallel.ForAsync(0, Sessions, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            {
                var session = Fixtures.OwnedSession(i, 200);
                for (int m = 0; m < PerSession; m++)
                {
                    await store.SaveMessageAsync(Fixtures.WordsMessage(session.Id, (i * PerSession) + m));
                }

                await store.SaveSessionAsync(session);
            });
            Console.WriteLine($"search ({name} store): seeded {Sessions * PerSession:N0} messages in {Stopwatch.GetElapsedTime(seeding).TotalSeconds:F0} s");

            int run = 0, found = 0;
            double median = await SteadyMedianAsync(async () =>
            {
                var hits = await sessions.SearchAsync(new SessionSearchQuery(Fixtures.Word(run++ * 7919)));
                found = hits.Count;
            });
            bool sql = name is "sqlite" or "postgresql";
            Report($"search 200 000 messages for one word ({name} store), median", $"{median:F2} ms ({found} hits)", sql ? "< 50 ms" : "", sql ? median < 50 && found == 20 : null);
        }

        Scenarios.Delete(dir);
    }

    private static async Task LoadAndListAsync(string name, Action<IAgentCoreBuilder, string>? build)
    {
        string dir = Scenarios.TempDirectory("load");
        await using (var services = Scenarios.Services(dir, new ScriptedChatClient(), build is null ? null : b => build(b, dir)))
        {
            var store = services.GetRequiredService<ISessionStore>();
            var sessionId = AgentCoreIds.NewSessionId();
            await store.SaveSessionAsync(new SessionInfo { Id = sessionId, Title = "big", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow });
            for (int i = 0; i < 10_000; i++)
            {
                await store.SaveMessageAsync(Fixtures.Message(sessionId, i));
            }

            double ml = await SteadyMedianAsync(async () => { _ = await store.GetMessagesAsync(sessionId); });
            Report($"load a 10 000-message session ({name} store), median", $"{ml:F1} ms", "< 50 ms", ml < 50);

            for (int i = 0; i < 10_000; i++)
            {
                await store.SaveSessionAsync(Fixtures.Session(i));
            }

            double mlist = await SteadyMedianAsync(async () => { await foreach (var _ in store.ListSessionsAsync()) { } });
            Report($"list 10 000 sessions ({name} store), median", $"{mlist:F1} ms", "< 100 ms", mlist < 100);
        }

        Scenarios.Delete(dir);
    }

    // The median of 15 runs once the code is warm: tiered JIT needs ~20 calls (about a second) to settle on optimized
    // code, so the runs start after at least 2 s or 100 warm-up calls, whichever comes first.
    private static async Task<double> SteadyMedianAsync(Func<Task> run)
    {
        long warming = Stopwatch.GetTimestamp();
        for (int i = 0; i < 100 && Stopwatch.GetElapsedTime(warming) < TimeSpan.FromSeconds(2); i++)
        {
            await run();
        }

        var times = new List<double>();
        for (int i = 0; i < 15; i++)
        {
            times.Add(await TimeAsync(run));
        }

        return Median(times);
    }

    private static async Task HistoryAsync()
    {
        string dir = Scenarios.TempDirectory("history");
        const int entries = 1_000_000;
        var history = new JsonlSessionHistory(dir);
        await Fixtures.WriteHistoryAsync(history.FilePath, entries);
        // Two passes: the first includes the JIT's warm-up (reported as "cold"), the second is steady state, as
        // BenchmarkDotNet would measure it (the goal is judged on it).
        var cold = await AggregateHistoryAsync(history);
        var warm = await AggregateHistoryAsync(history);
        long peakWorkingSet = Process.GetCurrentProcess().PeakWorkingSet64;
        Report("history: 1 000 000 entries aggregated, entries/s (steady)", $"{warm.PerSecond:N0}", "≥ 500 000", warm.PerSecond >= 500_000);
        Report("  (first pass, JIT warming up)", $"{cold.PerSecond:N0}", "", null);
        Report("history: peak managed heap growth while streaming", $"{Math.Max(cold.PeakBytes, warm.PeakBytes) / 1024.0 / 1024.0:F1} MB", "< 64 MB", Math.Max(cold.PeakBytes, warm.PeakBytes) < 64L * 1024 * 1024);
        Report("  (process peak working set, whole run)", $"{peakWorkingSet / 1024.0 / 1024.0:F0} MB", "", null);
        Report("  (groups: model × day)", warm.Groups.ToString(CultureInfo.InvariantCulture), "", null);
        Scenarios.Delete(dir);
    }

    private static async Task<(double PerSecond, long PeakBytes, int Groups)> AggregateHistoryAsync(JsonlSessionHistory history)
    {
        GC.Collect();
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = 0;
        var totals = new Dictionary<(string Model, DateOnly Day), (long Tokens, decimal Cost)>();
        long start = Stopwatch.GetTimestamp();
        int count = 0;
        await foreach (var entry in history.ReadAsync())
        {
            var key = (entry.Model, DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(entry.Timestamp).UtcDateTime));
            totals.TryGetValue(key, out var t);
            totals[key] = (t.Tokens + entry.Usage.TotalTokens, t.Cost + (entry.Cost.UsdByok ?? 0));
            if (++count % 10_000 == 0)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(false) - baseline);
            }
        }

        return (count / Stopwatch.GetElapsedTime(start).TotalSeconds, peak, totals.Count);
    }

    private static async Task ConcurrencyAsync()
    {
        string dir = Scenarios.TempDirectory("concurrency");
        const int sessionsCount = 1_000, toolSteps = 10;
        var client = new ScriptedChatClient(call =>
        {
            int results = call.Messages.Sum(m => m.Contents.OfType<Microsoft.Extensions.AI.FunctionResultContent>().Count());
            return results < toolSteps
                ? new ScriptedResponse().ToolCall($"call_{results}", "count", new { n = results }).Usage(100, 10)
                : new ScriptedResponse().Text("done").Usage(100, 10);
        });
        await using var services = Scenarios.Services(dir, client, b => b.AddTool(Microsoft.Extensions.AI.AIFunctionFactory.Create((int n) => n + 1, "count")));
        var sessions = services.GetRequiredService<ISessionService>();
        var ids = new List<string>();
        for (int i = 0; i < sessionsCount; i++)
        {
            ids.Add((await sessions.CreateAsync()).Id);
        }

        long start = Stopwatch.GetTimestamp();
        var completed = await Task.WhenAll(ids.Select(id => Task.Run(() => sessions.ChatAsync(new ChatRequest { SessionId = id, Text = "count to ten" }))));
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

        int lost = 0;
        foreach (var id in ids)
        {
            var messages = await sessions.GetMessagesAsync(id);
            bool whole = messages.Count == 2
                         && messages[1].Parts.OfType<ToolPart>().Count(t => t.State == ToolState.Completed) == toolSteps
                         && messages[1].Text == "done"
                         && messages[1].Error is null;
            if (!whole) lost++;
        }

        Report("1 000 concurrent sessions × 10 tool steps: turns/s", $"{sessionsCount / seconds:N0} ({seconds:F1} s)", "", null);
        Report("  sessions incomplete or with lost parts", lost.ToString(CultureInfo.InvariantCulture), "0", lost == 0 && completed.All(m => m.Error is null));
        Scenarios.Delete(dir);
    }
}
