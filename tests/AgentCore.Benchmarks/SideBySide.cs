using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AgentCore.Testing;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AgentCore.Benchmarks;

/// <summary>
/// The issue's workloads, each in one process with every system interleaved over the same
/// <see cref="PrebuiltChatClient"/>: the raw client, M.E.AI's <see cref="FunctionInvokingChatClient"/>, Agent
/// Framework's <see cref="ChatClientAgent"/> (MAF) and AgentCore on every store. Prints medians, p10–p90 and ratios to
/// MAF, and adds each goal to <see cref="Goals"/>.
/// </summary>
internal sealed class SideBySide(BenchStores stores, bool quick) : IAsyncDisposable
{
    private readonly Dictionary<string, (BenchAgentCore System, string SessionId)> _longSessions = new(StringComparer.Ordinal);

    private const string Raw = "raw client";
    private const string Ficc = "FunctionInvokingChatClient";
    private const string Maf = "MAF ChatClientAgent";
    private const int ToolSteps = 10;

    // Allocations per streamed update on the in-memory store, measured with this scenario before the hot-path work
    // (source of commit 8c46921, on a loaded machine: 263 B): the streaming goal is half of it.
    private const double AllocatedPerUpdateBefore = 263;

    public List<Goal> Goals { get; } = [];

    private static string AgentCoreName(string store) => "AgentCore " + store;

    /// <summary>Framework time per tool step: one turn of 10 tool steps and a one-update reply, minus the raw loop's time, over 10.</summary>
    public async Task ToolStepAsync()
    {
        var client = new PrebuiltChatClient(ToolSteps, textUpdates: 1);
        var (contenders, systems) = await OneClientContendersAsync(client, () => Baselines.RawAsync(client), "count to ten");

        var samples = await Interleaved.RunAsync(contenders, warmup: quick ? 8 : 30, rounds: quick ? 30 : 200);
        double raw = Interleaved.Median(samples[Raw].Select(s => s.Ms));
        Print("framework time per tool step (turn − raw loop) / 10", "µs", samples, s => (s.Ms - raw) * 1000 / ToolSteps, skipRaw: true);
        double maf = PerStep(samples[Maf]);
        foreach (var (store, goal) in new[] { ("in-memory", 10.0), ("file", 60.0), ("sqlite", 120.0), ("postgresql", double.NaN) })
        {
            if (samples.TryGetValue(AgentCoreName(store), out var s))
            {
                double perStep = PerStep(s);
                Goals.Add(new($"framework time per tool step, {store}", $"{perStep:F1} µs", $"{maf:F1} µs", double.IsNaN(goal) ? "" : $"≤ {goal} µs", double.IsNaN(goal) ? null : perStep <= goal));
            }
        }

        foreach (var system in systems)
        {
            await system.DisposeAsync();
        }

        double PerStep(List<Sample> s) => (Interleaved.Median(s.Select(x => x.Ms)) - raw) * 1000 / ToolSteps;
    }

    /// <summary>
    /// The contenders of a scenario where every system runs one turn over <paramref name="client"/>: <paramref name="raw"/>,
    /// FunctionInvokingChatClient, MAF's agent on a new session, and AgentCore on each store (a new session per run,
    /// the turn's text <paramref name="text"/>). The AgentCore systems are returned to be disposed after the runs.
    /// </summary>
    private async Task<(List<Contender> Contenders, List<BenchAgentCore> Systems)> OneClientContendersAsync(PrebuiltChatClient client, Func<Task> raw, string text)
    {
        var ficc = new FunctionInvokingChatClient(client);
        var agent = Baselines.Agent(client);
        var contenders = new List<Contender>
        {
            new(Raw, () => Task.FromResult(raw)),
            new(Ficc, () => Task.FromResult<Func<Task>>(() => Baselines.FunctionInvokingAsync(ficc))),
            new(Maf, async () =>
            {
                var session = await agent.CreateSessionAsync();
                return () => Baselines.AgentTurnAsync(agent, session);
            }),
        };
        var systems = new List<BenchAgentCore>();
        foreach (string store in await stores.NamesAsync())
        {
            var system = stores.Create(store, client);
            systems.Add(system);
            contenders.Add(new(AgentCoreName(store), async () =>
            {
                var session = await system.Sessions.CreateAsync();
                return () => system.TurnAsync(session.Id, text);
            }));
        }

        return (contenders, systems);
    }

    /// <summary>1 000 sessions at once, each one turn of 10 tool steps: turns per second, and every turn checked whole.</summary>
    public async Task ConcurrencyAsync()
    {
        const int Sessions = 1_000;
        var client = new PrebuiltChatClient(ToolSteps, textUpdates: 1);
        var ficc = new FunctionInvokingChatClient(client);
        var agent = Baselines.Agent(client);
        var lost = new Dictionary<string, int>();
        var toCheck = new Dictionary<string, (BenchAgentCore System, string[] Ids, int Failed)>();
        var contenders = new List<Contender>
        {
            new(Raw, () => Task.FromResult<Func<Task>>(async () =>
            {
                var turns = await Task.WhenAll(Enumerable.Range(0, Sessions).Select(_ => Task.Run(() => Baselines.RawAsync(client))));
                lost[Raw] = turns.Count(t => t.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Count() != ToolSteps);
            })),
            new(Ficc, () => Task.FromResult<Func<Task>>(async () =>
            {
                var turns = await Task.WhenAll(Enumerable.Range(0, Sessions).Select(_ => Task.Run(() => Baselines.FunctionInvokingAsync(ficc))));
                lost[Ficc] = turns.Count(t => t.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Count() != ToolSteps);
            })),
            new(Maf, async () =>
            {
                var sessions = new AgentSession[Sessions];
                for (int i = 0; i < Sessions; i++)
                {
                    sessions[i] = await agent.CreateSessionAsync();
                }

                return async () =>
                {
                    await Task.WhenAll(sessions.Select(s => Task.Run(() => Baselines.AgentTurnAsync(agent, s))));
                    lost[Maf] = sessions.Count(s => Baselines.AgentHistory(s) is not (ToolSteps, "tok "));
                };
            }),
        };
        var systems = new List<BenchAgentCore>();
        foreach (string store in await stores.NamesAsync())
        {
            var system = stores.Create(store, client);
            systems.Add(system);
            string name = AgentCoreName(store);
            contenders.Add(new(name, async () =>
            {
                var ids = new string[Sessions];
                for (int i = 0; i < Sessions; i++)
                {
                    ids[i] = (await system.Sessions.CreateAsync()).Id;
                }

                return async () =>
                {
                    var replies = await Task.WhenAll(ids.Select(id => Task.Run(() => system.TurnAsync(id))));
                    toCheck[name] = (system, ids, replies.Count(r => r.Error is not null));
                };
            }));
        }

        var samples = await Interleaved.RunAsync(contenders, warmup: 0, rounds: quick ? 1 : 3);

        // Every AgentCore session of the last round read back from its store: both messages, ten completed tool calls, the reply.
        foreach (var (name, (system, ids, failed)) in toCheck)
        {
            int incomplete = failed;
            foreach (var id in ids)
            {
                var messages = await system.Sessions.GetMessagesAsync(id);
                bool whole = messages.Count == 2
                    && messages[1].Parts.OfType<ToolPart>().Count(t => t.State == ToolState.Completed) == ToolSteps
                    && messages[1].Text == "tok "
                    && messages[1].CompletedAt is not null;
                incomplete += whole ? 0 : 1;
            }

            lost[name] = incomplete;
        }

        Print("1 000 concurrent sessions × 10 tool steps, all turns", "ms", samples, s => s.Ms);
        double mafRate = Sessions / (Interleaved.Median(samples[Maf].Select(s => s.Ms)) / 1000);
        foreach (var (name, list) in samples)
        {
            double rate = Sessions / (Interleaved.Median(list.Select(s => s.Ms)) / 1000);
            Console.WriteLine($"  {name,-34} {rate,10:N0} turns/s   lost: {lost.GetValueOrDefault(name)}");
        }

        foreach (var (store, goal) in new[] { ("in-memory", 16_000.0), ("file", 3_000.0), ("sqlite", 1_500.0), ("postgresql", double.NaN) })
        {
            string name = AgentCoreName(store);
            if (samples.TryGetValue(name, out var s))
            {
                double rate = Sessions / (Interleaved.Median(s.Select(x => x.Ms)) / 1000);
                Goals.Add(new($"1 000 sessions × 10 tool steps, {store}: turns/s", $"{rate:N0}", $"{mafRate:N0}", double.IsNaN(goal) ? "" : $"≥ {goal:N0}", double.IsNaN(goal) ? null : rate >= goal));
                Goals.Add(new($"  {store}: sessions lost or incomplete", lost[name].ToString(CultureInfo.InvariantCulture), lost[Maf].ToString(CultureInfo.InvariantCulture), "0", lost[name] == 0));
            }
        }

        foreach (var system in systems)
        {
            await system.DisposeAsync();
        }
    }

    /// <summary>A 1 000-update reply: µs per update above enumerating the raw client, and bytes allocated per update.</summary>
    public async Task StreamingAsync()
    {
        const int Updates = 1_000;
        var client = new PrebuiltChatClient(toolSteps: 0, Updates);
        var (contenders, systems) = await OneClientContendersAsync(client, () => Scenarios.EnumerateRawAsync(client), "go");

        var samples = await Interleaved.RunAsync(contenders, warmup: quick ? 8 : 30, rounds: quick ? 30 : 200);
        double raw = Interleaved.Median(samples[Raw].Select(s => s.Ms));
        double rawBytes = Interleaved.Median(samples[Raw].Select(s => (double)s.AllocatedBytes));
        Print("streaming: µs per update above the raw client (1 000-update reply)", "µs", samples, s => (s.Ms - raw) * 1000 / Updates, skipRaw: true);
        Print("streaming: bytes allocated per update (whole turn / 1 000)", "B", samples, s => (double)s.AllocatedBytes / Updates);
        double maf = PerUpdate(samples[Maf]);
        double mafBytes = Interleaved.Median(samples[Maf].Select(s => (double)s.AllocatedBytes)) / Updates;
        foreach (var (store, goal) in new[] { ("in-memory", 0.2), ("file", 0.5), ("sqlite", 0.5), ("postgresql", double.NaN) })
        {
            if (samples.TryGetValue(AgentCoreName(store), out var s))
            {
                double perUpdate = PerUpdate(s);
                Goals.Add(new($"streaming, {store}: µs per update above raw", $"{perUpdate:F2} µs", $"{maf:F2} µs", double.IsNaN(goal) ? "" : $"≤ {goal} µs", double.IsNaN(goal) ? null : perUpdate <= goal));
            }
        }

        if (samples.TryGetValue(AgentCoreName("in-memory"), out var memory))
        {
            double bytes = Interleaved.Median(memory.Select(s => (double)s.AllocatedBytes)) / Updates;
            Goals.Add(new("streaming, in-memory: bytes allocated per update", $"{bytes:N0} B (raw {rawBytes / Updates:N0})", $"{mafBytes:N0} B", $"≤ {AllocatedPerUpdateBefore / 2:N0} B", bytes <= AllocatedPerUpdateBefore / 2));
        }

        foreach (var system in systems)
        {
            await system.DisposeAsync();
        }

        double PerUpdate(List<Sample> s) => (Interleaved.Median(s.Select(x => x.Ms)) - raw) * 1000 / Updates;
    }

    /// <summary>One more turn (a 10-update reply, no tools) in a session of 10 messages and in one of 10 000.</summary>
    public async Task SessionLengthAsync()
    {
        const int Long = 10_000, Short = 10;
        var client = new PrebuiltChatClient(toolSteps: 0, textUpdates: 10);
        var agent = Baselines.Agent(client);
        var contenders = new List<Contender>();
        foreach (int length in new[] { Short, Long })
        {
            var session = await agent.CreateSessionAsync();
            session.SetInMemoryChatHistory(Enumerable.Range(0, length).Select(i => Fixtures.Message("ses_x", i).ToChatMessages()[0]).ToList());
            contenders.Add(new($"{Maf} @{length}", () => Task.FromResult<Func<Task>>(() => Baselines.AgentTurnAsync(agent, session, "go"))));
        }

        var systems = new List<BenchAgentCore>();
        foreach (string store in await stores.NamesAsync())
        {
            var system = stores.Create(store, client);
            systems.Add(system);
            var shortSession = await system.Sessions.CreateAsync();
            await FillAsync(system.SessionStore, shortSession.Id, Short);
            contenders.Add(new($"{AgentCoreName(store)} @{Short}", () => Task.FromResult<Func<Task>>(() => system.TurnAsync(shortSession.Id, "go"))));
            var (longSystem, longSession) = await LongSessionAsync(store);
            contenders.Add(new($"{AgentCoreName(store)} @{Long}", () => Task.FromResult<Func<Task>>(() => longSystem.TurnAsync(longSession, "go"))));
        }

        var samples = await Interleaved.RunAsync(contenders, warmup: quick ? 3 : 10, rounds: quick ? 11 : 50);
        Print("one more turn at 10 and at 10 000 messages (each run adds 2)", "ms", samples, s => s.Ms, maf: $"{Maf} @{Long}");
        string MedianOf(string name) => $"{Interleaved.Median(samples[name].Select(s => s.Ms)):F2}";
        string mafFigure = $"{MedianOf($"{Maf} @{Short}")} / {MedianOf($"{Maf} @{Long}")} ms";
        foreach (string store in await stores.NamesAsync())
        {
            double shortTurn = Interleaved.Median(samples[$"{AgentCoreName(store)} @{Short}"].Select(s => s.Ms));
            double longTurn = Interleaved.Median(samples[$"{AgentCoreName(store)} @{Long}"].Select(s => s.Ms));
            double ratio = longTurn / shortTurn;
            Goals.Add(new($"next turn at 10 / 10 000 messages, {store}", $"{shortTurn:F2} / {longTurn:F2} ms ({ratio:F1}×)", mafFigure, "≤ 1.5×", ratio <= 1.5));
        }

        foreach (var system in systems)
        {
            await system.DisposeAsync();
        }
    }

    /// <summary>Bytes each store writes for one 10-tool-step turn, against the size of the two messages it adds.</summary>
    public async Task WritesAsync()
    {
        var client = new PrebuiltChatClient(ToolSteps, textUpdates: 20);
        Console.WriteLine();
        Console.WriteLine("bytes written per turn (10 tool steps, 20-update reply): file and SQLite count the process's write() bytes");
        Console.WriteLine("(/proc/self/io wchar; usage history off), PostgreSQL the cluster's WAL bytes. MAF keeps nothing durable.");
        foreach (string store in await stores.NamesAsync())
        {
            if (store == "in-memory")
            {
                continue;
            }

            await using var system = stores.Create(store, client, b => b.UseSessionHistory<NoHistory>());
            var written = new List<double>();
            var ratios = new List<double>();
            double newBytes = 0;
            for (int round = -2; round < (quick ? 7 : 25); round++)
            {
                var session = await system.Sessions.CreateAsync();
                long before = await BytesWrittenAsync(system);
                await system.TurnAsync(session.Id);
                long after = await BytesWrittenAsync(system);
                var messages = await system.Sessions.GetMessagesAsync(session.Id);
                newBytes = messages.Sum(m => (double)JsonSerializer.SerializeToUtf8Bytes(m, AgentCoreJson.Options).Length);
                if (round >= 0)
                {
                    written.Add(after - before);
                    ratios.Add((after - before) / newBytes);
                }
            }

            double median = Interleaved.Median(written);
            double ratio = Interleaved.Median(ratios);
            Console.WriteLine($"  {AgentCoreName(store),-34} {median,10:N0} B  (p10–p90 {Interleaved.Percentile(written, 0.1):N0}–{Interleaved.Percentile(written, 0.9):N0})  new messages {newBytes:N0} B  {ratio:F1}×");
            Goals.Add(new($"bytes written per turn / new messages, {store}", $"{median:N0} / {newBytes:N0} B ({ratio:F1}×)", "—", "≤ 3×", ratio <= 3));
        }
    }

    private static async Task<long> BytesWrittenAsync(BenchAgentCore system)
    {
        if (system.ConnectionString is null)
        {
            foreach (string line in await File.ReadAllLinesAsync("/proc/self/io"))
            {
                if (line.StartsWith("wchar:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(6).Trim(), CultureInfo.InvariantCulture);
                }
            }

            throw new InvalidOperationException("/proc/self/io has no wchar line.");
        }

        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Loading a 10 000-message session from each store; MAF: deserializing a 10 000-message session.</summary>
    public async Task LoadAsync()
    {
        const int Messages = 10_000;
        var agent = Baselines.Agent(new PrebuiltChatClient(0, 1));
        var mafSession = await agent.CreateSessionAsync();
        mafSession.SetInMemoryChatHistory(Enumerable.Range(0, Messages).Select(i => Fixtures.Message("ses_x", i).ToChatMessages()[0]).ToList());
        string serialized = (await agent.SerializeSessionAsync(mafSession)).GetRawText();
        var contenders = new List<Contender>
        {
            new(Maf + " (deserialize)", () => Task.FromResult<Func<Task>>(async () =>
            {
                using var document = JsonDocument.Parse(serialized);
                var restored = await agent.DeserializeSessionAsync(document.RootElement);
                if (!restored.TryGetInMemoryChatHistory(out var history) || history!.Count != Messages)
                {
                    throw new InvalidOperationException("MAF restored the wrong history.");
                }
            })),
        };
        var systems = new List<BenchAgentCore>();
        foreach (string store in await stores.NamesAsync())
        {
            var (system, sessionId) = await LongSessionAsync(store);
            contenders.Add(new(AgentCoreName(store), () => Task.FromResult<Func<Task>>(async () =>
            {
                // 10 000, and 2 more for every turn the session-length scenario ran on the same session.
                if ((await system.SessionStore.GetMessagesAsync(sessionId)).Count < Messages)
                {
                    throw new InvalidOperationException("The store loaded the wrong number of messages.");
                }
            })));
        }

        var samples = await Interleaved.RunAsync(contenders, warmup: quick ? 5 : 20, rounds: quick ? 15 : 50);
        Print("load a 10 000-message session", "ms", samples, s => s.Ms, maf: Maf + " (deserialize)");
        string maf = $"{Interleaved.Median(samples[Maf + " (deserialize)"].Select(s => s.Ms)):F1} ms";
        foreach (string store in await stores.NamesAsync())
        {
            double median = Interleaved.Median(samples[AgentCoreName(store)].Select(s => s.Ms));
            Goals.Add(new($"load 10 000 messages, {store}", $"{median:F1} ms", maf, "≤ 25 ms", median <= 25));
        }

        foreach (var system in systems)
        {
            await system.DisposeAsync();
        }
    }

    /// <summary>Listing 10 000 sessions from each store, and one owner's 50 of them through <c>ListAsync(SessionQuery)</c>.</summary>
    public async Task ListAsync()
    {
        const int Sessions = 10_000, Owners = 200;
        var contenders = new List<Contender>();
        var systems = new List<BenchAgentCore>();
        int owner = 0;
        foreach (string store in await stores.NamesAsync())
        {
            var system = stores.Create(store, new PrebuiltChatClient(0, 1));
            systems.Add(system);
            for (int i = 0; i < Sessions; i++)
            {
                await system.SessionStore.SaveSessionAsync(Fixtures.OwnedSession(i, Owners));
            }

            contenders.Add(new(AgentCoreName(store), () => Task.FromResult<Func<Task>>(async () =>
            {
                int count = 0;
                await foreach (var _ in system.SessionStore.ListSessionsAsync())
                {
                    count++;
                }

                if (count != Sessions)
                {
                    throw new InvalidOperationException("The store listed the wrong number of sessions.");
                }
            })));
            contenders.Add(new(AgentCoreName(store) + " one owner", () => Task.FromResult<Func<Task>>(async () =>
            {
                // A different owner each run, so no run reads what the one before just read.
                var query = new SessionQuery { PageSize = 50, Metadata = new Dictionary<string, string> { ["owner"] = "user-" + (owner++ % Owners).ToString(CultureInfo.InvariantCulture) } };
                if ((await system.Sessions.ListAsync(query)).Sessions.Count != 50)
                {
                    throw new InvalidOperationException("The query listed the wrong page.");
                }
            })));
        }

        var samples = await Interleaved.RunAsync(contenders, warmup: quick ? 5 : 20, rounds: quick ? 15 : 50);
        Print("list 10 000 sessions (newest first); one owner's 50 of them (MAF has no listing)", "ms", samples, s => s.Ms);
        foreach (string store in await stores.NamesAsync())
        {
            double median = Interleaved.Median(samples[AgentCoreName(store)].Select(s => s.Ms));
            Goals.Add(new($"list 10 000 sessions, {store}", $"{median:F1} ms", "—", "≤ 25 ms", median <= 25));
            if (store is "sqlite" or "postgresql")
            {
                double query = Interleaved.Median(samples[AgentCoreName(store) + " one owner"].Select(s => s.Ms));
                Goals.Add(new($"  one owner's 50 of 10 000, {store}", $"{query:F2} ms", "—", "< 5 ms", query < 5));
            }
        }

        foreach (var system in systems)
        {
            await system.DisposeAsync();
        }
    }

    /// <summary>Aggregating 1 000 000 history entries (totals by model and day): entries/s and peak memory.</summary>
    public async Task HistoryAsync()
    {
        const int Entries = 1_000_000;
        string dir = Scenarios.TempDirectory("history");
        try
        {
            var history = new JsonlSessionHistory(dir);
            await Fixtures.WriteHistoryAsync(history.FilePath, Entries);
            var rates = new List<double>();
            long peak = 0;
            for (int pass = -1; pass < (quick ? 3 : 10); pass++)
            {
                var (perSecond, peakBytes, count) = await AggregateHistoryAsync(history);
                if (count != Entries)
                {
                    throw new InvalidOperationException("The history read the wrong number of entries.");
                }

                peak = Math.Max(peak, peakBytes);
                if (pass >= 0)
                {
                    rates.Add(perSecond);
                }
            }

            double median = Interleaved.Median(rates);
            Console.WriteLine();
            Console.WriteLine($"history aggregation of 1 000 000 JSONL entries: median {median:N0} entries/s (p10–p90 {Interleaved.Percentile(rates, 0.1):N0}–{Interleaved.Percentile(rates, 0.9):N0}); managed heap growth at most {peak / 1048576.0:F1} MB");
            Goals.Add(new("history: 1 000 000 entries aggregated, entries/s", $"{median:N0}", "—", "≥ 1 000 000", median >= 1_000_000));
            Goals.Add(new("history: peak managed heap growth while aggregating", $"{peak / 1048576.0:F1} MB", "—", "< 32 MB", peak < 32L * 1024 * 1024));
        }
        finally
        {
            Scenarios.Delete(dir);
        }
    }

    private static async Task<(double PerSecond, long PeakBytes, int Count)> AggregateHistoryAsync(JsonlSessionHistory history)
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

        return (count / Stopwatch.GetElapsedTime(start).TotalSeconds, peak, count);
    }

    /// <summary>
    /// The 10 000-message session on <paramref name="store"/>, filled once per run and shared by the session-length and
    /// load scenarios (a turn there replies with 10 text updates).
    /// </summary>
    private async Task<(BenchAgentCore System, string SessionId)> LongSessionAsync(string store)
    {
        if (!_longSessions.TryGetValue(store, out var found))
        {
            var system = stores.Create(store, new PrebuiltChatClient(toolSteps: 0, textUpdates: 10));
            var session = await system.Sessions.CreateAsync();
            await FillAsync(system.SessionStore, session.Id, 10_000);
            _longSessions[store] = found = (system, session.Id);
        }

        return found;
    }

    /// <summary>Saves <paramref name="count"/> completed messages (user and assistant in turn) straight into the store, 8 at a time.</summary>
    private static async Task FillAsync(ISessionStore store, string sessionId, int count)
    {
        var messages = Enumerable.Range(0, count).Select(i => Fixtures.Message(sessionId, i)).ToList();
        await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = 8 }, (message, ct) => store.SaveMessageAsync(message, ct));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (system, _) in _longSessions.Values)
        {
            await system.DisposeAsync();
        }
    }

    private static void Print(string title, string unit, Dictionary<string, List<Sample>> samples, Func<Sample, double> figure, bool skipRaw = false, string maf = Maf)
    {
        Console.WriteLine();
        Console.WriteLine($"{title} — {samples.First().Value.Count} interleaved runs each");
        Console.WriteLine($"  {"system",-40} {"median",12} {"p10–p90",24} {"÷ MAF",8}");
        double mafMedian = samples.TryGetValue(maf, out var m) ? Interleaved.Median(m.Select(figure)) : double.NaN;
        foreach (var (name, list) in samples)
        {
            if (skipRaw && name == Raw)
            {
                continue;
            }

            var values = list.Select(figure).ToList();
            double median = Interleaved.Median(values);
            string range = $"{Interleaved.Percentile(values, 0.1):N2}–{Interleaved.Percentile(values, 0.9):N2}";
            string ratio = double.IsNaN(mafMedian) || mafMedian == 0 ? "" : $"{median / mafMedian:F2}×";
            Console.WriteLine($"  {name,-40} {median,9:N2} {unit,-2} {range,24} {ratio,8}");
        }
    }

    /// <summary>A history that records nothing: the write scenario counts the store's bytes alone.</summary>
    private sealed class NoHistory : ISessionHistory
    {
        public ValueTask RecordStartAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask RecordEndAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public async IAsyncEnumerable<SessionHistoryEntry> ReadAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.CompletedTask;
            yield break;
        }
    }
}

/// <summary>One goal of the issue: the figure measured, MAF's figure from the same run, the goal and whether it is met.</summary>
internal sealed record Goal(string Name, string Figure, string Maf, string Target, bool? Met);
