using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AgentCore.Testing;
using AgentCore.TestInfrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AgentCore.Benchmarks;

/// <summary>
/// <c>--quick</c>: runs every scenario a few times and prints each figure next to its goal. Medians of wall-clock
/// runs on this machine, not BenchmarkDotNet's statistics: use the full run for publishable numbers.
/// </summary>
internal static partial class Quick
{
    private static readonly List<(string Name, string Figure, string Goal, bool? Met)> Rows = [];

    /// <summary>The issue's scenarios, in the order a full quick run takes them; <c>--only=&lt;name&gt;</c> picks one.</summary>
    private static readonly string[] SideBySideScenarios = ["step", "concurrency", "streaming", "length", "writes", "load", "list", "history"];

    public static async Task<int> RunAsync(string[] args)
    {
        var only = args.Where(a => a.StartsWith("--only=", StringComparison.Ordinal)).Select(a => a["--only=".Length..]).ToHashSet(StringComparer.Ordinal);
        bool Want(string name) => only.Count == 0 ? SideBySideScenarios.Contains(name) : only.Contains(name);
        var unknown = only.Except([.. SideBySideScenarios, "paced", "journal", "subscribers", "relay", "search"]).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"Unknown scenario {string.Join(", ", unknown)}: use {string.Join(", ", SideBySideScenarios)}, paced, journal, subscribers, relay or search.");
            return 2;
        }

        Console.WriteLine($"AgentCore quick benchmarks — {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        long started = Stopwatch.GetTimestamp();
        await using var stores = new BenchStores();
        await using var sideBySide = new SideBySide(stores, quick: !args.Contains("--long"));
        if (Want("step"))
        {
            await sideBySide.ToolStepAsync();
        }

        if (Want("concurrency"))
        {
            await sideBySide.ConcurrencyAsync();
        }

        if (Want("streaming"))
        {
            await sideBySide.StreamingAsync();
        }

        if (Want("length"))
        {
            await sideBySide.SessionLengthAsync();
        }

        if (Want("writes"))
        {
            await sideBySide.WritesAsync();
        }

        if (Want("load"))
        {
            await sideBySide.LoadAsync();
        }

        if (Want("list"))
        {
            await sideBySide.ListAsync();
        }

        if (Want("history"))
        {
            await sideBySide.HistoryAsync();
        }

        // Earlier goals, kept for their own figures (docs/performance.md): not part of a full quick run.
        if (Want("paced"))
        {
            await StreamingOverheadAsync();
        }

        if (Want("journal"))
        {
            await WriteAmplificationAsync();
        }

        if (Want("subscribers"))
        {
            await SubscribersAsync();
        }

        if (Want("relay"))
        {
            await RelayAsync();
        }

        if (Want("search"))
        {
            await SearchAsync(stores);
        }

        Console.WriteLine();
        Console.WriteLine($"{"goal",-52} {"AgentCore",-30} {"MAF, same run",-22} {"goal",-14} met");
        foreach (var goal in sideBySide.Goals)
        {
            Console.WriteLine($"{goal.Name,-52} {goal.Figure,-30} {goal.Maf,-22} {goal.Target,-14} {(goal.Met is null ? "-" : goal.Met.Value ? "met" : "NOT MET")}");
        }

        foreach (var (name, figure, goal, met) in Rows)
        {
            Console.WriteLine($"{name,-52} {figure,-30} {"—",-22} {goal,-14} {(met is null ? "-" : met.Value ? "met" : "NOT MET")}");
        }

        Console.WriteLine($"({Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s)");
        return sideBySide.Goals.Concat(Rows.Select(r => new Goal(r.Name, r.Figure, "", r.Goal, r.Met))).Any(g => g.Met == false) ? 1 : 0;
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
        var clock = new FakeTimeProvider();
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
}
