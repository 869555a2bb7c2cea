using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Storage.Worker;

/// <summary>
/// Two real processes (<c>AgentCore.Storage.Worker</c>) on one data folder or database: writing through the store at once, holding and
/// aborting the session lock, and chatting through the whole engine — the busy lock, the abort and crash recovery across
/// processes, no lost writes, and tool approval asked in one process and answered in another (TwoProcessApprovalTests.cs). A store's test project derives a fixture naming the backend; the tests synchronize only
/// through the workers' stdin and stdout lines and their exits.
/// </summary>
public abstract partial class TwoProcessTests
{
    private const int Turns = 25;

    /// <summary>The worker's backend argument: <c>file</c>, <c>sqlite</c> or <c>postgres</c>.</summary>
    protected abstract string Backend { get; }

    /// <summary>The data directory, database file or connection string both workers use.</summary>
    protected abstract string Target { get; }

    /// <summary>The workers' AgentCore data directory (shared, as the apps' would be).</summary>
    protected abstract string DataDirectory { get; }

    /// <summary>A store on <see cref="Target"/>, for the test to set up and inspect; disposed by the test.</summary>
    protected abstract ISessionStore OpenStore();

    /// <summary>The usage history both workers wrote.</summary>
    protected abstract IAsyncEnumerable<SessionHistoryEntry> ReadHistoryAsync();

    /// <summary>Waits until the session's lock, held by a killed worker, is free (the operating system or the server frees it).</summary>
    protected abstract Task WaitUntilLockFreeAsync(string sessionId);

    /// <summary>The backend's cross-process lock provider on <see cref="Target"/>; disposed by the test.</summary>
    protected abstract ISessionLockProvider OpenLockProvider();

    [Test]
    public async Task SaveAsync_TwoProcessesWritingOneSessionAtOnce_NoneLost()
    {
        const int Count = 150;
        string sessionId = AgentCoreIds.NewSessionId();
        var store = OpenStore();
        try
        {
            // Create the schema first, so both workers write at once rather than one migrating.
            (await store.GetSessionAsync(sessionId)).Should().BeNull();
            await using var first = WorkerProcess.Start("write", Backend, Target, sessionId, Count.ToString(System.Globalization.CultureInfo.InvariantCulture), "first");
            await using var second = WorkerProcess.Start("write", Backend, Target, sessionId, Count.ToString(System.Globalization.CultureInfo.InvariantCulture), "second");
            (await first.ReadLineAsync()).Should().Be("ready");
            (await second.ReadLineAsync()).Should().Be("ready");

            await first.WriteLineAsync("go");
            await second.WriteLineAsync("go");

            (await first.ReadLineAsync()).Should().Be($"done {Count}", first.Errors);
            (await second.ReadLineAsync()).Should().Be($"done {Count}", second.Errors);
            var texts = (await store.GetMessagesAsync(sessionId)).Select(static m => m.Text).ToList();
            var expected = Enumerable.Range(0, Count).SelectMany(static i => new[] { $"first {i} done", $"second {i} done" });
            texts.Should().BeEquivalentTo(expected);
            var sessions = new List<SessionInfo>();
            await foreach (var session in store.ListSessionsAsync())
            {
                sessions.Add(session);
            }

            sessions.Select(static s => s.Title).Should().BeEquivalentTo("first", "second");
        }
        finally
        {
            await DisposeAsync(store);
        }
    }

    [Test]
    public async Task TryAcquireAsync_LockHeldByAnotherProcess_BusyUntilReleasedAndAbortReachesIt()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        await using var holder = WorkerProcess.Start("lock", Backend, Target, sessionId);
        (await holder.ReadLineAsync()).Should().Be("locked", holder.Errors);

        await using (var contender = WorkerProcess.Start("lock", Backend, Target, sessionId))
        {
            (await contender.ReadLineAsync()).Should().Be("busy");
            (await contender.WaitForExitAsync()).Should().Be(3);
        }

        var provider = OpenLockProvider();
        try
        {
            (await provider.TryAcquireAsync(sessionId)).Should().BeNull();
            (await provider.RequestAbortAsync(sessionId)).Should().BeTrue();
            (await holder.ReadLineAsync()).Should().Be("aborted");

            await holder.WriteLineAsync("release");
            (await holder.ReadLineAsync()).Should().Be("released");
            (await holder.WaitForExitAsync()).Should().Be(0);
            await using var lease = await provider.TryAcquireAsync(sessionId);
            lease.Should().NotBeNull();
        }
        finally
        {
            await DisposeAsync(provider);
        }
    }

    [Test]
    public async Task TryAcquireAsync_HolderProcessKilled_LockFreed()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        await using var holder = WorkerProcess.Start("lock", Backend, Target, sessionId);
        (await holder.ReadLineAsync()).Should().Be("locked", holder.Errors);
        var provider = OpenLockProvider();
        try
        {
            (await provider.TryAcquireAsync(sessionId)).Should().BeNull();

            await holder.KillAsync();
            await WaitUntilLockFreeAsync(sessionId);

            await using var lease = await provider.TryAcquireAsync(sessionId);
            lease.Should().NotBeNull("a dead process's lock is freed");
            (await provider.RequestAbortAsync(AgentCoreIds.NewSessionId())).Should().BeFalse();
        }
        finally
        {
            await DisposeAsync(provider);
        }
    }

    [Test]
    public async Task ChatStreamingAsync_TurnRunningInAnotherProcess_BusyAtOnceAndFreeOnceItEnds()
    {
        string sessionId = await CreateSessionAsync();
        await using var a = await StartAsync(sessionId);
        await using var b = await StartAsync(sessionId);

        await a.WriteLineAsync("park partial");
        (await a.ReadLineAsync()).Should().Be("parked", a.Errors);

        // A is parked until the test releases it, and the test releases it only after B has answered: B cannot have waited.
        await b.WriteLineAsync("say hello");
        (await b.ReadLineAsync()).Should().Be("busy", b.Errors);

        await a.WriteLineAsync("release");
        (await a.ReadLineAsync()).Should().Be("completed completed none partial and the rest", a.Errors);
        await b.WriteLineAsync("say hello");
        (await b.ReadLineAsync()).Should().Be("completed completed none hello", b.Errors);

        await QuitAsync(a, b);
        var messages = await MessagesAsync(sessionId);
        messages.Select(static m => (m.Role, m.Text, m.Error)).Should().Equal(
            (ChatRole.User, "go", null), (ChatRole.Assistant, "partial and the rest", null),
            (ChatRole.User, "go", null), (ChatRole.Assistant, "hello", null));
    }

    [Test]
    public async Task Abort_TurnRunningInAnotherProcess_EndsItAbortedWithItsPartialText()
    {
        string sessionId = await CreateSessionAsync();
        await using var a = await StartAsync(sessionId);
        await using var b = await StartAsync(sessionId);
        await a.WriteLineAsync("park partial");
        (await a.ReadLineAsync()).Should().Be("parked", a.Errors);

        await b.WriteLineAsync("abort");
        (await b.ReadLineAsync()).Should().Be("abort True", b.Errors);

        (await a.ReadLineAsync()).Should().Be("completed aborted Aborted partial", a.Errors);
        await b.WriteLineAsync("say after the abort");
        (await b.ReadLineAsync()).Should().Be("completed completed none after the abort", b.Errors);
        await b.WriteLineAsync("abort");
        (await b.ReadLineAsync()).Should().Be("abort False", "no turn runs now");

        await QuitAsync(a, b);
        var messages = await MessagesAsync(sessionId);
        messages.Should().HaveCount(4);
        var aborted = messages[1];
        aborted.Text.Should().Be("partial", "the text streamed before the abort is kept");
        aborted.Error!.Kind.Should().Be(MessageErrorKind.Aborted);
        aborted.CompletedAt.Should().NotBeNull();
        messages[3].Text.Should().Be("after the abort");
    }

    [Test]
    public async Task ChatStreamingAsync_ProcessKilledMidTurn_LockFreedAndItsMessageClosedAsInterrupted()
    {
        string sessionId = await CreateSessionAsync();
        await using var b = await StartAsync(sessionId);
        await using (var a = await StartAsync(sessionId))
        {
            await a.WriteLineAsync("park partial");
            (await a.ReadLineAsync()).Should().Be("parked", a.Errors);
            await b.WriteLineAsync("say too soon");
            (await b.ReadLineAsync()).Should().Be("busy");

            await a.KillAsync();
        }

        await WaitUntilLockFreeAsync(sessionId);
        await b.WriteLineAsync("say I am back");
        (await b.ReadLineAsync()).Should().Be("completed completed none I am back", b.Errors);

        await QuitAsync(b);
        var messages = await MessagesAsync(sessionId);
        messages.Select(static m => m.Role).Should().Equal(ChatRole.User, ChatRole.Assistant, ChatRole.User, ChatRole.Assistant);
        var interrupted = messages[1];
        interrupted.Error!.Kind.Should().Be(MessageErrorKind.Interrupted);
        interrupted.CompletedAt.Should().NotBeNull();
        interrupted.Text.Should().Be("partial", "the text the dead process had stored is kept");
        messages[3].Error.Should().BeNull();
        messages[3].Text.Should().Be("I am back");
    }

    [Test]
    public async Task ChatStreamingAsync_TwoProcessesManyTurnsOnTheirOwnSessions_NothingLost()
    {
        string first = await CreateSessionAsync(), second = await CreateSessionAsync();
        await using var a = await StartAsync(first);
        await using var b = await StartAsync(second);

        await a.WriteLineAsync($"run {Turns}");
        await b.WriteLineAsync($"run {Turns}");
        foreach (var worker in new[] { a, b })
        {
            for (int i = 0; i < Turns; i++)
            {
                (await worker.ReadLineAsync()).Should().Be($"completed completed none reply {i}", worker.Errors);
            }

            (await worker.ReadLineAsync()).Should().Be($"done {Turns}");
        }

        await QuitAsync(a, b);
        var store = OpenStore();
        try
        {
            foreach (string sessionId in new[] { first, second })
            {
                var messages = await store.GetMessagesAsync(sessionId);
                messages.Select(static m => m.Text).Should().Equal(Enumerable.Range(0, Turns).SelectMany(static i => new[] { "go", $"reply {i}" }));
                messages.Should().OnlyContain(static m => m.CompletedAt != null && m.Error == null);
                var session = await store.GetSessionAsync(sessionId);
                session!.Tokens.Should().Be(new TokenUsage(10 * Turns, 5 * Turns, 0, 0, 0), "every turn's totals are added to the session");
                session.Cost.Should().Be(Turns * 0.00002m);
            }
        }
        finally
        {
            await DisposeAsync(store);
        }

        var history = new List<SessionHistoryEntry>();
        await foreach (var entry in ReadHistoryAsync())
        {
            history.Add(entry);
        }

        history.Where(static e => e.ExitReason == "completed").GroupBy(static e => e.SessionId).Select(static g => (g.Key, g.Count()))
            .Should().BeEquivalentTo([(first, Turns), (second, Turns)]);
    }

    [Test]
    public async Task UpdateAsync_TwoProcessesUpdatingOneSessionAtOnce_NoUpdateLost()
    {
        const int Updates = 60;
        string sessionId = await CreateSessionAsync();
        await using var a = await StartAsync(sessionId);
        await using var b = await StartAsync(sessionId);

        await a.WriteLineAsync($"update {Updates} a");
        await b.WriteLineAsync($"update {Updates} b");
        (await a.ReadLineAsync()).Should().Be($"updated {Updates}", a.Errors);
        (await b.ReadLineAsync()).Should().Be($"updated {Updates}", b.Errors);

        await QuitAsync(a, b);
        var session = await SessionAsync(sessionId);
        session.Metadata.Keys.Should().BeEquivalentTo(
            Enumerable.Range(0, Updates).SelectMany(static i => new[] { $"a-{i}", $"b-{i}" }), "each read-modify-write sees the one before it");
    }

    /// <summary>
    /// Called before <see cref="GetSessionAsync_RenamedInAnotherProcess_ReadAndListedWithEachNewTitle"/> first lists, so a
    /// backend that keeps a listing cache builds it then for certain (the file store indexes only a folder whose time is
    /// older than the listing's start).
    /// </summary>
    protected virtual void BeforeFirstListing()
    {
    }

    [Test]
    public async Task GetSessionAsync_RenamedInAnotherProcess_ReadAndListedWithEachNewTitle()
    {
        string sessionId = await CreateSessionAsync();
        var reader = OpenStore();
        try
        {
            // Read and listed here first, so whatever this side keeps (the file store's listing index) predates the renames.
            (await reader.GetSessionAsync(sessionId))!.Title.Should().Be("two processes");
            BeforeFirstListing();
            (await ListedTitlesAsync(reader, sessionId)).Should().Equal("two processes");
            await using var writer = await StartAsync(sessionId);
            foreach (string title in new[] { "first-title", "second-title" })
            {
                await writer.WriteLineAsync($"rename {title}");
                (await writer.ReadLineAsync()).Should().Be("renamed", writer.Errors);
                (await reader.GetSessionAsync(sessionId))!.Title.Should().Be(title);
                (await ListedTitlesAsync(reader, sessionId)).Should().Equal(title);
            }

            await QuitAsync(writer);
        }
        finally
        {
            await DisposeAsync(reader);
        }

        static async Task<List<string>> ListedTitlesAsync(ISessionStore store, string sessionId)
        {
            var titles = new List<string>();
            await foreach (var session in store.ListSessionsAsync())
            {
                if (session.Id == sessionId)
                {
                    titles.Add(session.Title);
                }
            }

            return titles;
        }
    }

    /// <summary>
    /// A process killed at each point of a turn: the next turn (in another process) closes what it left open and brings
    /// the session's totals to the sum over its messages, and the killed turn has exactly one history end entry.
    /// </summary>
    [TestCase("streaming", "interrupted")]
    [TestCase("tool", "interrupted")]
    [TestCase("compaction", "interrupted")]
    [TestCase("completed", "interrupted")]
    [TestCase("history", "completed")]
    [TestCase("totals", "completed")]
    public async Task ChatStreamingAsync_ProcessKilledAtAPointOfATurn_TotalsAreTheSumOverMessagesAndTheTurnEndsOnce(string point, string killedTurnExit)
    {
        string sessionId = await CreateSessionAsync();
        await using (var a = await StartAsync(sessionId, pausing: true))
        {
            await a.WriteLineAsync($"crash {point}");
            if (point == "compaction")
            {
                (await a.ReadLineAsync()).Should().Be("completed completed none long", a.Errors);
            }

            (await a.ReadLineAsync()).Should().Be($"at {point}", a.Errors);
            await a.KillAsync();
        }

        await WaitUntilLockFreeAsync(sessionId);
        await using var b = await StartAsync(sessionId);
        await b.WriteLineAsync("say after the crash");
        (await b.ReadLineAsync()).Should().Be("completed completed none after the crash", b.Errors);
        await QuitAsync(b);

        var session = await SessionAsync(sessionId);
        var messages = await MessagesAsync(sessionId);
        messages.Should().OnlyContain(static m => m.CompletedAt != null, "every message is closed");
        session.Tokens.Should().Be(messages.Aggregate(default(TokenUsage), static (sum, m) => sum + m.Tokens), "the totals are the sum over the messages");
        session.Cost.Should().Be(messages.Sum(static m => m.Cost));
        var killed = messages.Last(static m => m.Role == ChatRole.Assistant && !m.IsSummary && m.Text != "after the crash");
        // Killed in the summary call, the turn had made no step of its own yet; otherwise its first step was recorded.
        killed.Tokens.Should().Be(point == "compaction" ? default : new TokenUsage(1_000, 100, 0, 0, 0), "the killed turn's usage so far is kept on its message");

        var ends = new List<SessionHistoryEntry>();
        await foreach (var entry in ReadHistoryAsync())
        {
            if (entry.SessionId == sessionId && entry.ExitReason is not null)
            {
                ends.Add(entry);
            }
        }

        var expected = new List<string> { killedTurnExit, "completed" };
        if (point == "compaction")
        {
            expected.Insert(0, "completed");
        }

        ends.Select(static e => e.ExitReason).Should().Equal(expected, "every turn has one end entry, the killed one included");
        ends[^2].Cost.UsdByok.Should().Be(killed.Cost, "the killed turn's end entry carries its cost so far");
    }

    private Task<string> CreateSessionAsync() => WithStoreAsync(async store =>
    {
        var now = DateTimeOffset.UtcNow;
        var session = new SessionInfo
        {
            Id = AgentCoreIds.NewSessionId(), Title = "two processes", CreatedAt = now, UpdatedAt = now,
            TotalsCheckpoint = SessionTotalsCheckpoint.Empty,
        };
        await store.SaveSessionAsync(session);
        return session.Id;
    });

    private Task<WorkerProcess> StartAsync(string sessionId, bool pausing = false) =>
        pausing ? StartAsync("chat", sessionId, "pausing") : StartAsync("chat", sessionId);

    /// <summary>Starts the worker's <paramref name="command"/> on the session and waits until it says it is ready.</summary>
    private async Task<WorkerProcess> StartAsync(string command, string sessionId, params string[] options)
    {
        var worker = WorkerProcess.Start([command, Backend, Target, sessionId, DataDirectory, .. options]);
        (await worker.ReadLineAsync()).Should().Be("ready", worker.Errors);
        return worker;
    }

    private static async Task QuitAsync(params WorkerProcess[] workers)
    {
        foreach (var worker in workers)
        {
            await worker.WriteLineAsync("quit");
            (await worker.WaitForExitAsync()).Should().Be(0, worker.Errors);
        }
    }

    private Task<SessionInfo> SessionAsync(string sessionId) => WithStoreAsync(async store => (await store.GetSessionAsync(sessionId))!);

    private Task<IReadOnlyList<SessionMessage>> MessagesAsync(string sessionId) => WithStoreAsync(async store => await store.GetMessagesAsync(sessionId));

    /// <summary>Opens a store on <see cref="Target"/> for <paramref name="use"/> and disposes it after.</summary>
    private async Task<T> WithStoreAsync<T>(Func<ISessionStore, Task<T>> use)
    {
        var store = OpenStore();
        try
        {
            return await use(store);
        }
        finally
        {
            await DisposeAsync(store);
        }
    }

    private static async ValueTask DisposeAsync(object resource)
    {
        switch (resource)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }
}
