using System.Diagnostics;
using AgentCore.TestInfrastructure;
using AgentCore.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AgentCore.Benchmarks;

internal static partial class Quick
{
    /// <summary>
    /// Events across instances on PostgreSQL (<c>UseEvents</c>): a 4 000-update turn on the PostgreSQL store without and
    /// with the events table, the rows it wrote, and how long after the turn ended a follower on a
    /// second instance had its <see cref="TurnCompleted"/>.
    /// </summary>
    private static async Task RelayAsync()
    {
        if (TemporaryPostgres.NotInstalledReason is { } notInstalled)
        {
            Console.WriteLine($"Skipping the relay figures: {notInstalled}");
            return;
        }

        await using var started = await TemporaryPostgres.StartAsync();
        var postgres = started!;
        foreach (var (label, interval, runs) in new[] { ("unpaced model", TimeSpan.Zero, 9), ("model paced 16 updates / 2 ms", TimeSpan.FromMilliseconds(2), 5) })
        {
            string connectionString = postgres.CreateDatabase();
            string dir = Scenarios.TempDirectory("relay");
            Microsoft.Extensions.AI.IChatClient Client()
            {
                var scripted = new ScriptedChatClient(_ => Scenarios.Reply(Scenarios.ReplyUpdates));
                return interval == TimeSpan.Zero ? scripted : new PacedChatClient(scripted, 16, interval);
            }

            await using var plain = Scenarios.Services(dir, Client(), b => b.UsePostgreSql(connectionString));
            await using var relayed = Scenarios.Services(dir, Client(), b => b.UsePostgreSql(connectionString, o => o.UseEvents = true));
            await using var follower = Scenarios.Services(dir, Client(), b => b.UsePostgreSql(connectionString, o => o.UseEvents = true));
            var without = new List<double>();
            var with = new List<double>();
            var behind = new List<double>();
            long rows = 0;
            int turns = 0;
            for (int i = -1; i < runs; i++)
            {
                var plainSessions = plain.GetRequiredService<ISessionService>();
                var session = await plainSessions.CreateAsync();
                double t0 = await TimeAsync(() => Scenarios.ChatAsync(plainSessions, session.Id));

                var sessions = relayed.GetRequiredService<ISessionService>();
                var relayedSession = await sessions.CreateAsync();
                using var stop = new CancellationTokenSource();
                var watching = follower.GetRequiredService<ISessionEvents>().SubscribeAsync(relayedSession.Id, 0, stop.Token).GetAsyncEnumerator(stop.Token);
                var completed = WaitForTurnCompletedAsync(watching);
                long start = Stopwatch.GetTimestamp();
                await Scenarios.ChatAsync(sessions, relayedSession.Id);
                double t1 = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                await completed;
                double seen = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                await stop.CancelAsync();
                await watching.DisposeAsync();
                if (i >= 0)
                {
                    without.Add(t0);
                    with.Add(t1);
                    behind.Add(seen - t1);
                    turns++;
                }
            }

            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync();
                await using var count = new NpgsqlCommand("SELECT count(*) FROM agentcore_events", connection);
                rows = (long)(await count.ExecuteScalarAsync())!;
            }

            double m0 = Median(without), m1 = Median(with);
            Report($"PostgreSQL turn of 4 000 updates, {label}: events off / on ms", $"{m0:F1} / {m1:F1} ({m1 / m0:F2}x)", "", null);
            Report($"  follower on another instance: TurnCompleted after the turn", $"{Median(behind):F1} ms", "", null);
            Report($"  events table rows per turn", $"{rows / (turns + 1)}", "", null);
            Scenarios.Delete(dir);
        }

        static async Task WaitForTurnCompletedAsync(IAsyncEnumerator<SessionEvent> events)
        {
            while (await events.MoveNextAsync().ConfigureAwait(false))
            {
                if (events.Current is TurnCompleted)
                {
                    return;
                }
            }
        }
    }
}
