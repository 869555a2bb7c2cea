using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

/// <summary>The store's writes: one at a time per database file in the process, on a writer connection kept open.</summary>
public sealed class SqliteWriterTests : SqliteFileTests
{
    private static readonly DateTimeOffset T0 = new(2026, 5, 6, 7, 8, 9, TimeSpan.Zero);

    [Test]
    public async Task SavePartAsync_ManyWritersOnTwoStoresOfOneFile_NeverBusyAndNoneLost()
    {
        const int Writers = 48, PartsEach = 10;
        var logger = new CountingLogger<SqliteSessionStore>("busy");
        using var first = new SqliteSessionStore(DatabasePath, logger);
        using var second = new SqliteSessionStore(DatabasePath, logger);
        await first.MigrateAsync();
        string sessionId = AgentCoreIds.NewSessionId();

        var messages = await Task.WhenAll(Enumerable.Range(0, Writers).Select(i => Task.Run(async () =>
        {
            var store = i % 2 == 0 ? first : second;
            var message = new SessionMessage
            {
                Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.Assistant, CreatedAt = T0, Parts = [],
            };
            for (int p = 0; p < PartsEach; p++)
            {
                var part = new TextPart { Id = AgentCoreIds.NewPartId(), Text = $"writer {i} part {p}" };
                message.Parts.Add(part);
                await store.SavePartAsync(message, part);
                part.Text += " more";
                await store.SavePartAsync(message, part, " more");
            }

            message.CompletedAt = T0.AddSeconds(1);
            await store.SaveMessageAsync(message);
            return message;
        })));

        var read = await first.GetMessagesAsync(sessionId);
        read.Should().HaveCount(Writers);
        read.Should().OnlyContain(m => m.CompletedAt != null && m.Parts.Count == PartsEach);
        read.SelectMany(m => m.Parts).Cast<TextPart>().Select(p => p.Text)
            .Should().BeEquivalentTo(messages.SelectMany(m => m.Parts).Cast<TextPart>().Select(p => p.Text));
        logger.Count.Should().Be(0, "writers in one process queue for the file instead of meeting each other's write lock");
    }

    [Test]
    public async Task SaveSessionAsync_AnotherStoreOfTheFileInTheProcessIsWriting_QueuesWithoutMeetingItsLock()
    {
        var logger = new CountingLogger<SqliteSessionStore>("busy");
        using var first = new SqliteSessionStore(DatabasePath, logger);
        using var second = new SqliteSessionStore(DatabasePath, logger);
        var now = DateTimeOffset.UtcNow;
        var session = new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = now, UpdatedAt = now };
        await first.SaveSessionAsync(session);
        var inside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();

        // The first store holds its write transaction until released.
        var update = Task.Run(async () => await first.UpdateSessionAsync(session.Id, s =>
        {
            inside.TrySetResult();
            release.Wait();
            return s with { Title = "renamed" };
        }));
        await inside.Task;

        // The second store's write waits for it without meeting SQLite's lock: the call returns at once, unfinished.
        var other = new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "other", CreatedAt = now, UpdatedAt = now };
        var save = second.SaveSessionAsync(other).AsTask();
        save.IsCompleted.Should().BeFalse();
        release.Set();
        await update;
        await save;

        logger.Count.Should().Be(0, "the second write queued in the process instead of meeting the write lock and retrying");
        (await second.GetSessionAsync(session.Id))!.Title.Should().Be("renamed");
        (await first.GetSessionAsync(other.Id)).Should().NotBeNull();
    }

    [Test]
    public async Task SaveMessageAsync_PartsAlreadyStored_KeepsThemDropsTheRemovedAndAddsTheNew()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        var kept = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "kept" };
        var removed = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "removed" };
        var changed = new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "call_1", ToolName = "t", State = ToolState.Running };
        var message = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.Assistant, CreatedAt = T0, Parts = [kept, removed, changed],
        };
        foreach (var part in message.Parts)
        {
            await store.SavePartAsync(message, part);
        }

        var added = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "added" };
        changed.State = ToolState.Completed;
        changed.Output = "done";
        message.Parts = [added, changed, kept];
        message.CompletedAt = T0.AddSeconds(1);
        await store.SaveMessageAsync(message);

        var read = (await store.GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        read.CompletedAt.Should().Be(message.CompletedAt);
        read.Parts.Select(p => p.Id).Should().Equal(added.Id, changed.Id, kept.Id);
        read.Parts[1].Should().BeOfType<ToolPart>().Which.Output.Should().Be("done");
        read.Parts[2].Should().BeOfType<TextPart>().Which.Text.Should().Be("kept");
    }

    [Test]
    public async Task SavePartAsync_AfterTheStoreWasDisposed_StillWrites()
    {
        var store = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        var message = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.User, CreatedAt = T0, CompletedAt = T0,
            Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = "late" }],
        };
        await store.SaveMessageAsync(message);
        store.Dispose();

        await store.SavePartAsync(message, message.Parts[0]);

        using var reopened = new SqliteSessionStore(DatabasePath);
        (await reopened.GetMessagesAsync(sessionId)).Should().ContainSingle().Which.Parts.Should().ContainSingle();
    }
}
