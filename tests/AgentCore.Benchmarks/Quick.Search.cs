using System.Diagnostics;

namespace AgentCore.Benchmarks;

internal static partial class Quick
{
    /// <summary>
    /// <c>--only=search</c>: 10 000 sessions × 20 completed messages of 25 words each from a 5 000-word vocabulary, so a
    /// word is in about 1 000 messages; <see cref="ISessionService.SearchAsync"/> for one word (a different one each run)
    /// ranks ~1 000 matches and returns the best 20 with snippets. The goal is for the SQL stores, which search an index;
    /// the file and in-memory stores scan every message and are shown for comparison.
    /// </summary>
    private static async Task SearchAsync(BenchStores stores)
    {
        const int Sessions = 10_000, PerSession = 20;
        foreach (string name in await stores.NamesAsync())
        {
            await using var agentCore = stores.Create(name, new AgentCore.Testing.ScriptedChatClient());
            var store = agentCore.SessionStore;
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
            async Task SearchOnce()
            {
                var hits = await agentCore.Sessions.SearchAsync(new SessionSearchQuery(Fixtures.Word(run++ * 7919)));
                found = hits.Count;
            }

            // Warm (tiered JIT settles after ~20 calls), then the median of 15 runs.
            long warming = Stopwatch.GetTimestamp();
            for (int i = 0; i < 100 && Stopwatch.GetElapsedTime(warming) < TimeSpan.FromSeconds(2); i++)
            {
                await SearchOnce();
            }

            var times = new List<double>();
            for (int i = 0; i < 15; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await SearchOnce();
                times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            double median = Median(times);
            bool sql = name is "sqlite" or "postgresql";
            Report($"search 200 000 messages for one word ({name} store), median", $"{median:F2} ms ({found} hits)", sql ? "< 50 ms" : "", sql ? median < 50 && found == 20 : null);
        }
    }
}
