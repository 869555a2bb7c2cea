using AgentCore.Storage.Worker;
using AgentCore.Testing;
using FluentAssertions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary>
/// Session events across instances on one PostgreSQL database (<c>UsePostgreSql(cs, o =&gt; o.UseEvents = true)</c>): two
/// service providers in this process, then two and three real processes of <c>AgentCore.Storage.Worker</c>.
/// </summary>
[TestFixture]
public sealed class PostgreSqlSessionEventsTests
{
    private static readonly ModelInfo Model = new("scripted", "model", contextWindow: 100_000, maxOutputTokens: 4_000);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private string _connectionString = null!;
    private string _directory = null!;

    [SetUp]
    public void CreateDatabase()
    {
        _connectionString = PostgresServer.CreateDatabase();
        _directory = Directory.CreateTempSubdirectory("agentcore-pg-events-").FullName;
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    private ServiceProvider Instance(ScriptedChatClient client, ScriptedChatClient? titles = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddAgentCore(o =>
            {
                o.DataDirectory = _directory;
                o.DefaultModel = Model.Reference;
                o.GenerateTitles = titles is not null;
                o.TitleModel = titles is null ? null : "titles/namer";
                o.IncludeContextFiles = false;
            })
            .AddChatClient(Model.ProviderId, client, [Model])
            .UsePostgreSql(_connectionString, o => o.UseEvents = true);
        if (titles is not null)
        {
            builder.AddChatClient("titles", titles, [new ModelInfo("titles", "namer", 8_000, 1_000)]);
        }

        return services.BuildServiceProvider();
    }

    private static async Task<SessionEvent> NextAsync(IAsyncEnumerator<SessionEvent> events)
    {
        (await events.MoveNextAsync().AsTask().WaitAsync(Bound)).Should().BeTrue();
        return events.Current;
    }

    private static async Task<List<SessionEvent>> TurnAsync(ServiceProvider instance, string sessionId, string text)
    {
        var events = new List<SessionEvent>();
        await foreach (var sessionEvent in instance.GetRequiredService<ISessionService>().ChatStreamingAsync(new ChatRequest { SessionId = sessionId, Text = text }))
        {
            events.Add(sessionEvent);
        }

        return events;
    }

    /// <summary>Reads events until <paramref name="turns"/> TurnCompleted events have been read.</summary>
    private static async Task<List<SessionEvent>> ReadTurnsAsync(IAsyncEnumerator<SessionEvent> events, int turns = 1)
    {
        var read = new List<SessionEvent>();
        while (turns > 0)
        {
            (await events.MoveNextAsync().AsTask().WaitAsync(Bound)).Should().BeTrue();
            read.Add(events.Current);
            turns -= events.Current is TurnCompleted ? 1 : 0;
        }

        return read;
    }

    private static IEnumerable<(long, string)> Shape(IEnumerable<SessionEvent> events) =>
        events.Select(static e => (e.Sequence, SessionEventJson.TypeOf(e)));

    [Test]
    public async Task SubscribeAsync_TurnRunningOnAnotherInstance_ReceivesEveryEventOnceInOrder()
    {
        var parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = new ScriptedChatClient().Enqueue(r => r.Text("one ").Text("two ").Then(parked.SetResult).WaitFor(release.Task)
            .Text("three ").Text("four").Usage(10, 5).Finish(ChatFinishReason.Stop));
        await using var a = Instance(client);
        await using var b = Instance(new ScriptedChatClient());
        var session = await a.GetRequiredService<ISessionService>().CreateAsync();
        using var stop = new CancellationTokenSource();
        await using var following = b.GetRequiredService<ISessionEvents>().SubscribeAsync(session.Id, 0, stop.Token).GetAsyncEnumerator(stop.Token);

        var turn = TurnAsync(a, session.Id, "count");
        await parked.Task.WaitAsync(Bound);
        // The session's stream begins with its creation, numbered on a outside any turn.
        var created = await NextAsync(following);
        created.Should().BeOfType<SessionCreated>();
        var followed = new List<SessionEvent> { await NextAsync(following) };   // the events so far reach b while the turn is parked on a
        release.SetResult();
        var streamed = await turn.WaitAsync(Bound);
        followed.AddRange(await ReadTurnsAsync(following));

        Shape(followed).Should().Equal(Shape(streamed), "b gets a's events under their sequences, none lost, none twice, in order");
        streamed.Select(static e => e.Sequence).Should().Equal(Enumerable.Range(0, streamed.Count).Select(i => streamed[0].Sequence + i));
        streamed[0].Sequence.Should().BeGreaterThan(created.Sequence);
        string text = string.Concat(followed.OfType<TextDelta>().Select(static d => d.Text));
        var stored = await b.GetRequiredService<ISessionService>().GetMessagesAsync(session.Id);
        text.Should().Be("one two three four").And.Be(stored[^1].Text);
        ((TurnCompleted)followed[^1]).Message.Text.Should().Be(stored[^1].Text, "large events cross instances whole");
    }

    [Test]
    public async Task SubscribeAsync_AfterASequenceSeenOnAnotherInstance_ReplaysTheRestThenLive()
    {
        var client = new ScriptedChatClient()
            .Enqueue(r => r.Text("alpha ").Text("beta ").Text("gamma").Usage(10, 5).Finish(ChatFinishReason.Stop))
            .Enqueue(r => r.Text("delta").Usage(10, 5).Finish(ChatFinishReason.Stop));
        await using var a = Instance(client);
        await using var b = Instance(new ScriptedChatClient());
        var session = await a.GetRequiredService<ISessionService>().CreateAsync();
        var first = await TurnAsync(a, session.Id, "first");

        using var stop = new CancellationTokenSource();
        await using var resumed = b.GetRequiredService<ISessionEvents>().SubscribeAsync(session.Id, first[2].Sequence, stop.Token).GetAsyncEnumerator(stop.Token);
        var replayed = await ReadTurnsAsync(resumed);
        var second = await TurnAsync(a, session.Id, "second");
        var live = await ReadTurnsAsync(resumed);

        Shape(replayed).Should().Equal(Shape(first.Skip(3)));
        Shape(live).Should().Equal(Shape(second));
        second[0].Sequence.Should().BeGreaterThan(first[^1].Sequence);
    }

    [Test]
    public async Task ChatStreamingAsync_TurnsAlternatingBetweenInstances_SequencesKeepIncreasingAndAFollowerSeesAll()
    {
        var clientA = new ScriptedChatClient();
        var clientB = new ScriptedChatClient();
        await using var a = Instance(clientA);
        await using var b = Instance(clientB);
        await using var watcher = Instance(new ScriptedChatClient());
        var session = await a.GetRequiredService<ISessionService>().CreateAsync();
        using var stop = new CancellationTokenSource();
        await using var following = watcher.GetRequiredService<ISessionEvents>().SubscribeAsync(session.Id, 0, stop.Token).GetAsyncEnumerator(stop.Token);

        var turns = new List<List<SessionEvent>>();
        for (int i = 0; i < 4; i++)
        {
            var (instance, client) = i % 2 == 0 ? (a, clientA) : (b, clientB);
            client.Enqueue(r => r.Text($"reply {i}").Usage(10, 5).Finish(ChatFinishReason.Stop));
            turns.Add(await TurnAsync(instance, session.Id, $"turn {i}"));
        }

        var all = turns.SelectMany(static t => t).ToList();
        all.Select(static e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        var seen = await ReadTurnsAsync(following, turns: 4);
        seen[0].Should().BeOfType<SessionCreated>();
        Shape(seen.Skip(1)).Should().Equal(Shape(all));
    }

    [Test]
    public async Task Follow_TurnInAnotherProcess_WatchedLiveReplayedByAThirdAndNumberingContinuesAcrossProcesses()
    {
        string sessionId;
        await using (var setup = Instance(new ScriptedChatClient()))
        {
            sessionId = (await setup.GetRequiredService<ISessionService>().CreateAsync()).Id;
        }

        await using var a = await StartAsync(sessionId);
        await using var b = await StartAsync(sessionId);
        await b.WriteLineAsync("follow 0");
        (await b.ReadLineAsync()).Should().Be("following", b.Errors);
        (await b.ReadLineAsync()).Should().StartWith("outside session-created ", b.Errors);

        await a.WriteLineAsync("park streamed on a");
        (await a.ReadLineAsync()).Should().Be("parked", a.Errors);
        await a.WriteLineAsync("release");
        (await a.ReadLineAsync()).Should().Be("completed completed none streamed on a and the rest", a.Errors);
        string[] watched = (await b.ReadLineAsync()).Split(' ', 6);
        watched[0].Should().Be("followed", b.Errors);
        watched[4].Should().Be("True", "the turn's events are consecutive");
        watched[5].Should().Be("streamed on a and the rest");
        int count = int.Parse(watched[1], System.Globalization.CultureInfo.InvariantCulture);
        long firstSequence = long.Parse(watched[2], System.Globalization.CultureInfo.InvariantCulture);
        long lastSequence = long.Parse(watched[3], System.Globalization.CultureInfo.InvariantCulture);
        (lastSequence - firstSequence + 1).Should().Be(count);

        // A third process resumes after the second event it saw elsewhere: it gets the rest of that turn, then b's turn live.
        await using var c = await StartAsync(sessionId);
        await c.WriteLineAsync($"follow {firstSequence + 1}");
        (await c.ReadLineAsync()).Should().Be("following", c.Errors);
        string replayed = await c.ReadLineAsync();
        replayed.Should().StartWith($"followed {count - 2} {firstSequence + 2} {lastSequence} True ", c.Errors).And.EndWith("and the rest");

        await b.WriteLineAsync("say from b");
        var onB = new[] { await b.ReadLineAsync(), await b.ReadLineAsync() };
        onB.Should().Contain("completed completed none from b", b.Errors);
        string[] ownTurn = onB.Single(static l => l.StartsWith("followed ", StringComparison.Ordinal)).Split(' ', 6);
        long.Parse(ownTurn[2], System.Globalization.CultureInfo.InvariantCulture).Should().BeGreaterThan(lastSequence, "numbering continues across processes");
        string[] seenByC = (await c.ReadLineAsync()).Split(' ', 6);
        seenByC.Should().Equal(ownTurn, "c sees b's turn as b does");

        await using var store = new PostgreSqlSessionStore(_connectionString);
        (await store.GetMessagesAsync(sessionId)).Where(static m => m.Role == ChatRole.Assistant).Select(static m => m.Text)
            .Should().Equal("streamed on a and the rest", "from b");
        foreach (var worker in new[] { a, b, c })
        {
            await worker.WriteLineAsync("quit");
            (await worker.WaitForExitAsync()).Should().Be(0, worker.Errors);
        }
    }

    [Test]
    public async Task SubscribeAsync_LateTitleRenameAndDeleteOnOtherInstances_ReceivedInOrderOnceAndReplayed()
    {
        var titleGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var titles = new ScriptedChatClient().Enqueue(r => r.WaitFor(titleGate.Task).Text("Generated title"));
        await using var a = Instance(new ScriptedChatClient().Enqueue(r => r.Text("reply").Usage(10, 5).Finish(ChatFinishReason.Stop)), titles);
        await using var b = Instance(new ScriptedChatClient());
        var session = await a.GetRequiredService<ISessionService>().CreateAsync();
        var turn = await TurnAsync(a, session.Id, "hello");
        long last = turn[^1].Sequence;
        using var stop = new CancellationTokenSource();
        await using var following = b.GetRequiredService<ISessionEvents>().SubscribeAsync(session.Id, last, stop.Token).GetAsyncEnumerator(stop.Token);
        var first = following.MoveNextAsync();

        titleGate.SetResult();   // the title lands on a after its turn ended
        (await first.AsTask().WaitAsync(Bound)).Should().BeTrue();
        var seen = new List<SessionEvent> { following.Current };
        await b.GetRequiredService<ISessionService>().UpdateAsync(session.Id, static s => s with { Title = "Renamed on b" });
        seen.Add(await NextAsync(following));
        (await a.GetRequiredService<ISessionService>().DeleteAsync(session.Id)).Should().BeTrue();
        seen.Add(await NextAsync(following));

        seen[0].Should().BeOfType<SessionUpdated>().Which.Session.Title.Should().Be("Generated title");
        seen[1].Should().BeOfType<SessionUpdated>().Which.Session.Title.Should().Be("Renamed on b");
        seen[2].Should().BeOfType<SessionDeleted>();
        seen.Select(static e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems().And.OnlyContain(e => e > last);

        // Stored: a third instance resuming after the turn gets the same three, under the same numbers.
        await using var c = Instance(new ScriptedChatClient());
        await using var replay = c.GetRequiredService<ISessionEvents>().SubscribeAsync(session.Id, last, stop.Token).GetAsyncEnumerator(stop.Token);
        var replayed = new List<SessionEvent> { await NextAsync(replay), await NextAsync(replay), await NextAsync(replay) };
        Shape(replayed).Should().Equal(Shape(seen));
    }

    [Test]
    public async Task RevertAsync_NumberingOwnerLeftByACrashedInstance_RevertNumberedAndReceivedElsewhere()
    {
        await using var a = Instance(new ScriptedChatClient()
            .Enqueue(r => r.Text("one").Usage(10, 5).Finish(ChatFinishReason.Stop))
            .Enqueue(r => r.Text("two").Usage(10, 5).Finish(ChatFinishReason.Stop)));
        await using var b = Instance(new ScriptedChatClient());
        var session = await a.GetRequiredService<ISessionService>().CreateAsync();
        await TurnAsync(a, session.Id, "first");
        long last = (await TurnAsync(a, session.Id, "second"))[^1].Sequence;
        // A turn that died between its begin and its end leaves its instance as the numbering's owner.
        await using (var data = Npgsql.NpgsqlDataSource.Create(_connectionString))
        {
            await using var crash = data.CreateCommand("UPDATE agentcore_event_sequences SET owner = 'crashed-instance' WHERE session_id = $1");
            crash.Parameters.Add(new Npgsql.NpgsqlParameter { Value = session.Id });
            (await crash.ExecuteNonQueryAsync()).Should().Be(1);
        }

        using var stop = new CancellationTokenSource();
        await using var following = b.GetRequiredService<ISessionEvents>().SubscribeAsync(session.Id, last, stop.Token).GetAsyncEnumerator(stop.Token);
        var first = following.MoveNextAsync();
        var messages = await a.GetRequiredService<ISessionService>().GetMessagesAsync(session.Id);
        await a.GetRequiredService<ISessionService>().RevertAsync(session.Id, messages[1].Id);

        (await first.AsTask().WaitAsync(Bound)).Should().BeTrue("the revert holds the busy lock itself: its event must not wait for the gone owner");
        following.Current.Should().BeOfType<SessionUpdated>().Which.Session.RevertedAfter.Should().Be(messages[1].Id);
        following.Current.Sequence.Should().BeGreaterThan(last);
        await stop.CancelAsync();
    }

    [Test]
    public async Task SubscribeAsync_AllSessionsOnAnotherInstance_SeesSessionsCreatedAndDeletedThere()
    {
        await using var a = Instance(new ScriptedChatClient());
        await using var b = Instance(new ScriptedChatClient());
        var sessionsOnA = a.GetRequiredService<ISessionService>();
        var probe = await sessionsOnA.CreateAsync();
        using var stop = new CancellationTokenSource();
        var eventsOnB = b.GetRequiredService<ISessionEvents>();
        await using var all = eventsOnB.SubscribeAsync(null, stop.Token).GetAsyncEnumerator(stop.Token);
        var allRead = all.MoveNextAsync();
        // b follows the probe session too: once its creation arrives, b's listening connection listens.
        await using var probing = eventsOnB.SubscribeAsync(probe.Id, 0, stop.Token).GetAsyncEnumerator(stop.Token);
        (await NextAsync(probing)).Should().BeOfType<SessionCreated>();

        var session = await sessionsOnA.CreateAsync();
        (await sessionsOnA.DeleteAsync(session.Id)).Should().BeTrue();

        (await allRead.AsTask().WaitAsync(Bound)).Should().BeTrue();
        var seen = new List<SessionEvent> { all.Current };
        while (seen.Count(e => e.SessionId == session.Id) < 2)
        {
            seen.Add(await NextAsync(all));
        }

        var ofSession = seen.Where(e => e.SessionId == session.Id).ToList();
        ofSession[0].Should().BeOfType<SessionCreated>();
        ofSession[1].Should().BeOfType<SessionDeleted>();
        ofSession[1].Sequence.Should().BeGreaterThan(ofSession[0].Sequence).And.BePositive();
    }

    [Test]
    public async Task UpdateAsync_WhileATurnRunsOnAnotherInstance_NumberedAfterItNeverSharingANumber()
    {
        var parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = new ScriptedChatClient().Enqueue(r =>
        {
            for (int i = 0; i < 20; i++)
            {
                r.Text($"{i} ");
            }

            r.Then(parked.SetResult).WaitFor(release.Task);
            for (int i = 20; i < 40; i++)
            {
                r.Text($"{i} ");
            }

            r.Usage(10, 5).Finish(ChatFinishReason.Stop);
        });
        await using var a = Instance(client);
        await using var b = Instance(new ScriptedChatClient());
        await using var watcher = Instance(new ScriptedChatClient());
        var session = await a.GetRequiredService<ISessionService>().CreateAsync();
        var sessionsOnB = b.GetRequiredService<ISessionService>();
        using var stop = new CancellationTokenSource();
        await using var following = watcher.GetRequiredService<ISessionEvents>().SubscribeAsync(session.Id, 0, stop.Token).GetAsyncEnumerator(stop.Token);

        var turn = TurnAsync(a, session.Id, "count");
        await parked.Task.WaitAsync(Bound);
        for (int i = 0; i < 3; i++)
        {
            await sessionsOnB.UpdateAsync(session.Id, s => s with { Metadata = new Dictionary<string, string>(s.Metadata) { [$"parked-{i}"] = "set" } });
        }

        // More renames racing the rest of the turn and its end.
        var racing = Task.Run(async () =>
        {
            for (int i = 0; i < 10; i++)
            {
                await sessionsOnB.UpdateAsync(session.Id, s => s with { Metadata = new Dictionary<string, string>(s.Metadata) { [$"racing-{i}"] = "set" } });
            }
        });
        release.SetResult();
        var streamed = await turn.WaitAsync(Bound);
        await racing.WaitAsync(Bound);

        long turnLast = streamed[^1].Sequence;
        var seen = new List<SessionEvent>();
        while (seen.Count(e => e.Sequence > turnLast) < 13)
        {
            seen.Add(await NextAsync(following));
        }

        seen.Select(static e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems("a subscriber never sees a number twice or a step back");
        streamed.Select(static e => e.Sequence).Should().Equal(Enumerable.Range(0, streamed.Count).Select(i => streamed[0].Sequence + i), "the turn stays consecutive");
        Shape(seen.Where(e => e.Sequence >= streamed[0].Sequence && e.Sequence <= turnLast)).Should().Equal(Shape(streamed));
        // Each change adds one key: the changes arrive once each, in the order b made them, all numbered after a's turn.
        seen.Where(e => e.Sequence > turnLast).Select(static e => ((SessionUpdated)e).Session.Metadata.Count)
            .Should().Equal(Enumerable.Range(1, 13));
    }

    [Test]
    public async Task Follow_RenameAndDeleteInAnotherProcess_ReceivedInOrderAfterItsTurn()
    {
        string sessionId;
        await using (var setup = Instance(new ScriptedChatClient()))
        {
            sessionId = (await setup.GetRequiredService<ISessionService>().CreateAsync()).Id;
        }

        await using var a = await StartAsync(sessionId);
        await using var b = await StartAsync(sessionId);
        await a.WriteLineAsync("say before");
        (await a.ReadLineAsync()).Should().Be("completed completed none before", a.Errors);
        await b.WriteLineAsync("follow 0");
        (await b.ReadLineAsync()).Should().Be("following", b.Errors);
        string[] created = (await b.ReadLineAsync()).Split(' ');
        string[] turn = (await b.ReadLineAsync()).Split(' ', 6);
        turn[0].Should().Be("followed", b.Errors);

        await a.WriteLineAsync("rename Renamed in a");
        (await a.ReadLineAsync()).Should().Be("renamed", a.Errors);
        await a.WriteLineAsync("delete");
        (await a.ReadLineAsync()).Should().Be("deleted True", a.Errors);
        string[] renamed = (await b.ReadLineAsync()).Split(' ');
        string[] deleted = (await b.ReadLineAsync()).Split(' ');

        created[..2].Should().Equal("outside", "session-created");
        renamed[..2].Should().Equal("outside", "session-updated");
        deleted[..2].Should().Equal("outside", "session-deleted");
        long[] sequences = [.. new[] { created[2], turn[2], turn[3], renamed[2], deleted[2] }.Select(static n => long.Parse(n, System.Globalization.CultureInfo.InvariantCulture))];
        sequences.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems("the session's stream, turn and changes around it, in one order across processes");
        foreach (var worker in new[] { a, b })
        {
            await worker.WriteLineAsync("quit");
            (await worker.WaitForExitAsync()).Should().Be(0, worker.Errors);
        }
    }

    private async Task<WorkerProcess> StartAsync(string sessionId)
    {
        var worker = WorkerProcess.Start("chat", "postgres-events", _connectionString, sessionId, _directory);
        (await worker.ReadLineAsync()).Should().Be("ready", worker.Errors);
        return worker;
    }
}
