using FluentAssertions;
using AgentCore.Storage.Worker;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

/// <summary>
/// The SQLite store's messages stamp: unchanged while nothing is written, changed by every write of the session's messages
/// — by this store, another store instance on the file, another process — and never repeated for different contents.
/// </summary>
public sealed class SqliteMessagesStampTests : SqliteFileTests
{
    private static readonly DateTimeOffset T0 = new(2026, 5, 6, 7, 8, 9, TimeSpan.Zero);

    [Test]
    public async Task GetMessagesStampAsync_NothingWritten_SameStamp()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        await store.SaveMessageAsync(Message(sessionId, "hello"));

        string? first = await store.GetMessagesStampAsync(sessionId);
        (await store.GetMessagesAsync(sessionId)).Should().ContainSingle();
        string? second = await store.GetMessagesStampAsync(sessionId);

        first.Should().NotBeNull();
        second.Should().Be(first);
    }

    [TestCase("save message")]
    [TestCase("save part")]
    [TestCase("save parts")]
    [TestCase("delete messages")]
    [TestCase("delete session")]
    public async Task GetMessagesStampAsync_WriteByThisStore_Changes(string write)
    {
        using var store = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        var message = Message(sessionId, "hello");
        await store.SaveMessageAsync(message);
        string? before = await store.GetMessagesStampAsync(sessionId);

        var text = (TextPart)message.Parts[0];
        text.Text += " again";
        switch (write)
        {
            case "save message":
                await store.SaveMessageAsync(message);
                break;
            case "save part":
                await store.SavePartAsync(message, text, " again");
                break;
            case "save parts":
                await store.SavePartsAsync(message, [new(text, " again")]);
                break;
            case "delete messages":
                (await store.DeleteMessagesAsync(sessionId, [message.Id])).Should().Be(1);
                break;
            default:
                await store.SaveSessionAsync(new SessionInfo { Id = sessionId, Title = "stamped", CreatedAt = T0, UpdatedAt = T0 });
                before = await store.GetMessagesStampAsync(sessionId);
                (await store.DeleteSessionAsync(sessionId)).Should().BeTrue();
                break;
        }

        (await store.GetMessagesStampAsync(sessionId)).Should().NotBe(before);
    }

    [Test]
    public async Task GetMessagesStampAsync_WriteToAnotherSessionByThisStore_Unchanged()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        string other = AgentCoreIds.NewSessionId();
        while (SqliteDatabase.StampSlot(other) == SqliteDatabase.StampSlot(sessionId))
        {
            other = AgentCoreIds.NewSessionId(); // Ids that share a slot share their stamp (conservative, as documented).
        }

        await store.SaveMessageAsync(Message(sessionId, "mine"));
        string? before = await store.GetMessagesStampAsync(sessionId);

        await store.SaveMessageAsync(Message(other, "someone else's"));

        (await store.GetMessagesStampAsync(sessionId)).Should().Be(before);
    }

    [Test]
    public async Task GetMessagesStampAsync_WhileThisStoreHoldsTheWriteLock_ReturnsAtOnceTheSameStamp()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        await store.SaveSessionAsync(new SessionInfo { Id = sessionId, Title = "t", CreatedAt = T0, UpdatedAt = T0 });
        await store.SaveMessageAsync(Message(sessionId, "hello"));
        string? before = await store.GetMessagesStampAsync(sessionId);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        var update = Task.Run(() => store.UpdateSessionAsync(sessionId, s =>
        {
            entered.SetResult();
            release.Wait(); // The write transaction stays open (the write lock held) until the test releases it.
            return s with { Title = "renamed" };
        }).AsTask());
        await entered.Task;

        var during = store.GetMessagesStampAsync(sessionId);

        during.IsCompleted.Should().BeTrue("the stamp is read from the running transaction, not after it");
        (await during).Should().Be(before);
        release.Set();
        (await update)!.Title.Should().Be("renamed");
        (await store.GetMessagesStampAsync(sessionId)).Should().Be(before);
    }

    [Test]
    public async Task GetMessagesStampAsync_WriteByAnotherStoreOnTheFile_Changes()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        using var another = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        var message = Message(sessionId, "hello");
        await store.SaveMessageAsync(message);
        string? before = await store.GetMessagesStampAsync(sessionId);

        var text = (TextPart)message.Parts[0];
        text.Text += " from another store";
        await another.SavePartAsync(message, text, " from another store");

        (await store.GetMessagesStampAsync(sessionId)).Should().NotBe(before);
        (await store.GetMessagesAsync(sessionId)).Single().Text.Should().Be("hello from another store");
    }

    [Test]
    public async Task GetMessagesStampAsync_WriteByAnotherProcess_Changes()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        await store.SaveMessageAsync(Message(sessionId, "hello"));
        string? before = await store.GetMessagesStampAsync(sessionId);

        await using (var worker = WorkerProcess.Start("write", "sqlite", DatabasePath, sessionId, "1", "worker"))
        {
            (await worker.ReadLineAsync()).Should().Be("ready");
            await worker.WriteLineAsync("go");
            (await worker.ReadLineAsync()).Should().Be("done 1", worker.Errors);
        }

        (await store.GetMessagesStampAsync(sessionId)).Should().NotBe(before);
        (await store.GetMessagesAsync(sessionId)).Select(static m => m.Text).Should().Equal("hello", "worker 0 done");
    }

    [Test]
    public async Task GetMessagesStampAsync_ManyWritesStoresAndReopenedFiles_NeverRepeats()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var stamps = new List<string?>();
        for (int round = 0; round < 3; round++)
        {
            using var store = new SqliteSessionStore(DatabasePath);
            stamps.Add(await store.GetMessagesStampAsync(sessionId));
            for (int i = 0; i < 5; i++)
            {
                var message = Message(sessionId, $"round {round} message {i}");
                await store.SaveMessageAsync(message);
                stamps.Add(await store.GetMessagesStampAsync(sessionId));
                await store.DeleteMessagesAsync(sessionId, [message.Id]);
                stamps.Add(await store.GetMessagesStampAsync(sessionId));
            }
        }

        stamps.Should().NotContainNulls().And.OnlyHaveUniqueItems();
    }

    private static SessionMessage Message(string sessionId, string text) => new()
    {
        Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.User, CreatedAt = T0, CompletedAt = T0,
        Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = text }],
    };
}
