using System.Diagnostics;
using AgentCore.Tests.Shared;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

/// <summary>
/// Group commit: writes queued behind a running transaction are committed together, each in a savepoint. The tests
/// hold the writer in a session update whose function waits for a signal, so the writes they start meanwhile queue and
/// go into one transaction once it is released.
/// </summary>
public sealed class SqliteGroupCommitTests : SqliteFileTests
{
    private const string GroupFailed = "committing them one at a time";

    private static readonly DateTimeOffset T0 = new(2026, 5, 6, 7, 8, 9, TimeSpan.Zero);

    [Test]
    public async Task SavePartsAsync_ManySessionsConcurrently_AllStored()
    {
        const int Sessions = 64, Steps = 5;
        using var store = new SqliteSessionStore(DatabasePath);
        await store.MigrateAsync();

        var messages = await Task.WhenAll(Enumerable.Range(0, Sessions).Select(_ => Task.Run(async () =>
        {
            var message = NewMessage();
            for (int step = 0; step < Steps; step++)
            {
                var tool = new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = $"call_{step}", ToolName = "read", State = ToolState.Running, StartedAt = T0 };
                var start = new StepStartPart { Id = AgentCoreIds.NewPartId(), StartedAt = T0 };
                message.Parts.AddRange([start, tool]);
                await store.SavePartsAsync(message, [new(start), new(tool)]);
                tool.State = ToolState.Completed;
                tool.Output = $"output {step}";
                tool.EndedAt = T0.AddSeconds(1);
                message.Tokens = new TokenUsage(step + 1, step, 0, 0, 0);
                await store.SavePartsAsync(message, [new(tool)]);
            }

            return message;
        })));

        foreach (var message in messages)
        {
            var stored = (await store.GetMessagesAsync(message.SessionId)).Should().ContainSingle().Subject;
            stored.Parts.Select(static p => p.Id).Should().Equal(message.Parts.Select(static p => p.Id));
            stored.Parts.OfType<ToolPart>().Should().OnlyContain(static t => t.State == ToolState.Completed);
            stored.Tokens.Should().Be(message.Tokens);
        }
    }

    [Test]
    public async Task SavePartsAsync_OneFailsAmongQueuedWrites_OnlyItRolledBackAndOnlyItsCallerThrows()
    {
        var groupFailures = new CountingLogger<SqliteSessionStore>(GroupFailed);
        using var store = new SqliteSessionStore(DatabasePath, groupFailures);
        var doomedMessage = NewMessage();
        var before = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "before" };
        doomedMessage.Parts.Add(before);
        await store.SaveMessageAsync(doomedMessage);
        var doomed = new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "call_1", ToolName = "read", State = ToolState.Running, StartedAt = T0 };
        await ExecuteAsync($"CREATE TRIGGER refuse AFTER INSERT ON parts WHEN new.id = '{doomed.Id}' BEGIN SELECT RAISE(ABORT, 'refused'); END;");

        await using var holder = await WriterHolder.StartAsync(store);
        var good = Enumerable.Range(0, 8).Select(_ => NewMessage()).ToList();
        var goodSaves = new List<Task>();
        foreach (var message in good.Take(4))
        {
            goodSaves.Add(SaveTextAsync(store, message));
        }

        doomedMessage.Parts.Add(doomed);
        doomedMessage.Tokens = new TokenUsage(10, 5, 0, 0, 0);
        var doomedSave = store.SavePartsAsync(doomedMessage, [new(doomed)]).AsTask();
        foreach (var message in good.Skip(4))
        {
            goodSaves.Add(SaveTextAsync(store, message));
        }

        holder.Release();

        (await doomedSave.Awaiting(static t => t).Should().ThrowAsync<SqliteException>()).Which.Message.Should().Contain("refused");
        await Task.WhenAll(goodSaves);
        foreach (var message in good)
        {
            (await store.GetMessagesAsync(message.SessionId)).Should().ContainSingle().Which.Text.Should().Be(message.Text);
        }

        var stored = (await store.GetMessagesAsync(doomedMessage.SessionId)).Should().ContainSingle().Subject;
        stored.Parts.Should().ContainSingle().Which.Id.Should().Be(before.Id);
        stored.Tokens.Should().Be(default(TokenUsage));
        groupFailures.Count.Should().Be(0, "the failing write's savepoint was rolled back, not the group's transaction");

        // The rolled-back write's fields are not remembered as stored: saved again (with a part the trigger lets through, and
        // no other connection's commit, which would make the writer forget anyway), they are written.
        doomedMessage.Parts.Remove(doomed);
        var retried = new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "call_2", ToolName = "read", State = ToolState.Running, StartedAt = T0 };
        doomedMessage.Parts.Add(retried);
        await store.SavePartsAsync(doomedMessage, [new(retried)]);
        stored = (await store.GetMessagesAsync(doomedMessage.SessionId)).Should().ContainSingle().Subject;
        stored.Tokens.Should().Be(doomedMessage.Tokens);
        stored.Parts.Select(p => p.Id).Should().Equal(before.Id, retried.Id);
    }

    [Test]
    public async Task SavePartsAsync_TransactionRolledBackByOneWrite_OthersStoredAlone()
    {
        var groupFailures = new CountingLogger<SqliteSessionStore>(GroupFailed);
        using var store = new SqliteSessionStore(DatabasePath, groupFailures);
        await store.MigrateAsync();
        var doomedMessage = NewMessage();
        var doomed = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "doomed" };
        doomedMessage.Parts.Add(doomed);
        // RAISE(ROLLBACK) ends the whole transaction, not only the write's savepoint: every write of the group runs again alone.
        await ExecuteAsync($"CREATE TRIGGER refuse AFTER INSERT ON parts WHEN new.id = '{doomed.Id}' BEGIN SELECT RAISE(ROLLBACK, 'refused'); END;");
        var appendedMessage = NewMessage();
        var appended = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "Hello" };
        appendedMessage.Parts.Add(appended);
        await store.SaveMessageAsync(appendedMessage);

        await using var holder = await WriterHolder.StartAsync(store);
        var good = Enumerable.Range(0, 6).Select(_ => NewMessage()).ToList();
        var goodSaves = good.Take(3).Select(m => SaveTextAsync(store, m)).ToList();
        appended.Text = "Hello, world";
        goodSaves.Add(store.SavePartAsync(appendedMessage, appended, appendedText: ", world").AsTask());
        var doomedSave = store.SavePartsAsync(doomedMessage, [new(doomed)]).AsTask();
        goodSaves.AddRange(good.Skip(3).Select(m => SaveTextAsync(store, m)));
        holder.Release();

        (await doomedSave.Awaiting(static t => t).Should().ThrowAsync<SqliteException>()).Which.Message.Should().Contain("refused");
        await Task.WhenAll(goodSaves);
        foreach (var message in good)
        {
            (await store.GetMessagesAsync(message.SessionId)).Should().ContainSingle().Which.Text.Should().Be(message.Text);
        }

        (await store.GetMessagesAsync(appendedMessage.SessionId)).Should().ContainSingle().Which.Parts.Should().ContainSingle()
            .Which.Should().BeOfType<TextPart>().Which.Text.Should().Be("Hello, world", "the appended text is stored once");
        (await store.GetMessagesAsync(doomedMessage.SessionId)).Should().BeEmpty();
        groupFailures.Count.Should().Be(1, "the queued writes went into one transaction, which failed once");
    }

    [Test]
    public async Task SavePartsAsync_CancelledWhileQueued_ThrowsAndStoresNothing()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        await using var holder = await WriterHolder.StartAsync(store);
        var cancelled = NewMessage();
        var kept = NewMessage();
        using var cancellation = new CancellationTokenSource();
        var cancelledSave = SaveTextAsync(store, cancelled, cancellation.Token);
        var keptSave = SaveTextAsync(store, kept);

        await cancellation.CancelAsync();

        // The caller sees the cancellation while the writer is still held: its write was dropped from the queue.
        await cancelledSave.Awaiting(static t => t).Should().ThrowAsync<OperationCanceledException>();
        keptSave.IsCompleted.Should().BeFalse();
        holder.Release();
        await keptSave;
        (await store.GetMessagesAsync(kept.SessionId)).Should().ContainSingle();
        (await store.GetMessagesAsync(cancelled.SessionId)).Should().BeEmpty();
    }

    [Test]
    public async Task SavePartsAsync_GroupBusyPastBusyTimeout_EveryWriteThrowsBusyWithoutRetryingAlone()
    {
        var time = new ObservedTimeProvider();
        var groupFailures = new CountingLogger<SqliteSessionStore>(GroupFailed);
        using var store = new SqliteSessionStore(DatabasePath, new SqliteStoreOptions { BusyTimeout = TimeSpan.FromSeconds(10) }, groupFailures, time);
        await store.MigrateAsync();
        await using var other = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await other.OpenAsync();
        await using (var begin = other.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            await begin.ExecuteNonQueryAsync(); // Another "process" holds the write lock.
        }

        // The first write is refused by SQLite and waits to try again: the writes started meanwhile queue as one group.
        var first = Task.Run(() => SaveTextAsync(store, NewMessage()));
        await time.WaitForTimersAsync();
        var grouped = Enumerable.Range(0, 3).Select(_ => NewMessage()).ToList();
        var groupSaves = grouped.Select(m => SaveTextAsync(store, m)).ToList();
        time.Advance(TimeSpan.FromSeconds(10)); // The first write's busy timeout runs out; the group's transaction is tried.
        await time.WaitForTimersAsync();
        time.Advance(TimeSpan.FromSeconds(10)); // The group's busy timeout runs out.

        var all = Task.WhenAll(groupSaves);
        (await Task.WhenAny(all, groupFailures.Logged)).Should().BeSameAs(all, "a group refused for its whole busy timeout is not retried one write at a time");
        groupFailures.Count.Should().Be(0);
        foreach (var save in groupSaves.Append(first))
        {
            (await save.Awaiting(static t => t).Should().ThrowAsync<SqliteException>()).Which.SqliteErrorCode.Should().Be(5);
        }

        await using (var rollback = other.CreateCommand())
        {
            rollback.CommandText = "ROLLBACK";
            await rollback.ExecuteNonQueryAsync();
        }

        foreach (var message in grouped)
        {
            (await store.GetMessagesAsync(message.SessionId)).Should().BeEmpty();
        }
    }

    [Test]
    public async Task SavePartsAsync_CancelledWhileAnotherInstanceWrites_ThrowsAndStoresNothing()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        using var otherStore = new SqliteSessionStore(DatabasePath);
        await store.MigrateAsync();
        await using var holder = await WriterHolder.StartAsync(otherStore); // Holds the file's write gate.
        var cancelled = NewMessage();
        using var cancellation = new CancellationTokenSource();
        var cancelledSave = SaveTextAsync(store, cancelled, cancellation.Token);

        await cancellation.CancelAsync();

        // The caller sees the cancellation while the other instance still writes (the guard only keeps a failure from hanging).
        await cancelledSave.Awaiting(static t => t.WaitAsync(TimeSpan.FromMinutes(1))).Should().ThrowAsync<OperationCanceledException>();
        holder.Release();
        await holder.Update;
        (await store.GetMessagesAsync(cancelled.SessionId)).Should().BeEmpty();
        var kept = NewMessage();
        await SaveTextAsync(store, kept);
        (await store.GetMessagesAsync(kept.SessionId)).Should().ContainSingle();
    }

    [Test]
    public async Task UpdateSessionAsync_QueuedBehindAWriteStartedUnderAnActivity_DoesNotRunUnderIt()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        var held = new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "held", CreatedAt = T0, UpdatedAt = T0 };
        var queued = held with { Id = AgentCoreIds.NewSessionId(), Title = "queued" };
        await store.SaveSessionAsync(held);
        await store.SaveSessionAsync(queued);
        using var entered = new SemaphoreSlim(0, 1);
        using var released = new SemaphoreSlim(0, 1);
        using var starter = new Activity("starter");
        var holding = Task.Run(() =>
        {
            starter.Start(); // Current only in this write's execution context, which starts the drain.
            return store.UpdateSessionAsync(held.Id, session =>
            {
                entered.Release();
                released.Wait();
                return session with { Title = "updated" };
            }).AsTask();
        });
        await entered.WaitAsync();
        Activity.Current.Should().BeNull();
        Activity? seen = starter;
        var later = store.UpdateSessionAsync(queued.Id, session =>
        {
            seen = Activity.Current;
            return session with { Title = "updated" };
        }).AsTask();

        released.Release();
        await holding;
        (await later).Should().NotBeNull();

        seen.Should().BeNull("the drain that ran this write does not carry the context of the writer that started it");
    }

    [Test]
    public async Task UpdateSessionAsync_UpdateThrows_OtherSessionsStampUnchanged()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        var session = new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = T0, UpdatedAt = T0 };
        await store.SaveSessionAsync(session);
        var other = NewMessage();
        await SaveTextAsync(store, other);
        string? stamp = await store.GetMessagesStampAsync(other.SessionId);

        await store.Awaiting(s => s.UpdateSessionAsync(session.Id, static _ => throw new InvalidOperationException("refused")).AsTask())
            .Should().ThrowAsync<InvalidOperationException>();

        (await store.GetMessagesStampAsync(other.SessionId)).Should().Be(stamp, "an update function's exception only rolls back; the writer connection stays");
        (await store.GetSessionAsync(session.Id))!.Title.Should().Be("t");
    }

    [Test]
    public async Task UpdateSessionAsync_CancelledInsideItsTransaction_Completes()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        using var cancellation = new CancellationTokenSource();
        await using var holder = await WriterHolder.StartAsync(store, cancellation.Token);

        await cancellation.CancelAsync();
        holder.Release();

        (await holder.Update).Should().NotBeNull().And.Subject.As<SessionInfo>().Title.Should().Be("updated");
        (await store.GetSessionAsync(holder.SessionId))!.Title.Should().Be("updated");
    }

    [Test]
    public async Task GetMessagesStampAsync_AfterQueuedWritesCommitted_Changed()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        var first = NewMessage();
        var second = NewMessage();
        string firstStamp = (await store.GetMessagesStampAsync(first.SessionId))!;
        string secondStamp = (await store.GetMessagesStampAsync(second.SessionId))!;

        await using (var holder = await WriterHolder.StartAsync(store))
        {
            var saves = new[] { SaveTextAsync(store, first), SaveTextAsync(store, second) };
            holder.Release();
            await Task.WhenAll(saves);
        }

        (await store.GetMessagesStampAsync(first.SessionId)).Should().NotBe(firstStamp);
        (await store.GetMessagesStampAsync(second.SessionId)).Should().NotBe(secondStamp);
    }

    private static SessionMessage NewMessage() => new()
    {
        Id = AgentCoreIds.NewMessageId(), SessionId = AgentCoreIds.NewSessionId(), Role = ChatRole.Assistant, CreatedAt = T0, Parts = [],
    };

    private static Task SaveTextAsync(SqliteSessionStore store, SessionMessage message, CancellationToken cancellationToken = default)
    {
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = $"text of {message.SessionId}" };
        message.Parts.Add(text);
        return store.SavePartsAsync(message, [new(text)], cancellationToken).AsTask();
    }

    /// <summary>A session update whose function waits for <see cref="Release"/>: it holds the store's writer meanwhile.</summary>
    private sealed class WriterHolder : IAsyncDisposable
    {
        private readonly SemaphoreSlim _entered = new(0, 1);
        private readonly SemaphoreSlim _released = new(0, 1);

        private WriterHolder(string sessionId) => SessionId = sessionId;

        public string SessionId { get; }

        public Task<SessionInfo?> Update { get; private set; } = null!;

        public static async Task<WriterHolder> StartAsync(SqliteSessionStore store, CancellationToken cancellationToken = default)
        {
            var holder = new WriterHolder(AgentCoreIds.NewSessionId());
            await store.SaveSessionAsync(new SessionInfo { Id = holder.SessionId, Title = "held", CreatedAt = T0, UpdatedAt = T0 });
            holder.Update = Task.Run(() => store.UpdateSessionAsync(holder.SessionId, session =>
            {
                holder._entered.Release();
                holder._released.Wait();
                return session with { Title = "updated" };
            }, cancellationToken).AsTask());
            await holder._entered.WaitAsync();
            return holder;
        }

        public void Release()
        {
            if (_released.CurrentCount == 0)
            {
                _released.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            Release();
            await Update;
            _entered.Dispose();
            _released.Dispose();
        }
    }
}
