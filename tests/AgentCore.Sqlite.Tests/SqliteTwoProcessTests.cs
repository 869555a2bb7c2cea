using AgentCore.Storage.Worker;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

/// <summary>Two real processes on one SQLite file: no lost writes, and the session lock holds between them.</summary>
public sealed class SqliteTwoProcessTests
{
    private string _directory = null!;

    private string DatabasePath => Path.Combine(_directory, "shared.db");

    [SetUp]
    public void CreateDirectory()
    {
        _directory = Path.Combine(Path.GetTempPath(), "agentcore-sqlite-2p-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void DeleteDirectory()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public async Task SaveAsync_TwoProcessesWritingOneSessionAtOnce_NoneLost()
    {
        const int Count = 150;
        string sessionId = AgentCoreIds.NewSessionId();
        await using var first = WorkerProcess.Start("write", "sqlite", DatabasePath, sessionId, Count.ToString(), "first");
        await using var second = WorkerProcess.Start("write", "sqlite", DatabasePath, sessionId, Count.ToString(), "second");
        (await first.ReadLineAsync()).Should().Be("ready");
        (await second.ReadLineAsync()).Should().Be("ready");

        await first.WriteLineAsync("go");
        await second.WriteLineAsync("go");

        (await first.ReadLineAsync()).Should().Be($"done {Count}", first.Errors);
        (await second.ReadLineAsync()).Should().Be($"done {Count}", second.Errors);
        using var store = new SqliteSessionStore(DatabasePath);
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

    [Test]
    public async Task TryAcquireAsync_LockHeldByAnotherProcess_BusyUntilReleasedAndAbortReachesIt()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        await using var holder = WorkerProcess.Start("lock", "sqlite", DatabasePath, sessionId);
        (await holder.ReadLineAsync()).Should().Be("locked", holder.Errors);

        await using (var contender = WorkerProcess.Start("lock", "sqlite", DatabasePath, sessionId))
        {
            (await contender.ReadLineAsync()).Should().Be("busy");
            (await contender.WaitForExitAsync()).Should().Be(3);
        }

        await using var provider = new SqliteSessionLockProvider(DatabasePath);
        (await provider.TryAcquireAsync(sessionId)).Should().BeNull();
        provider.RequestAbort(sessionId).Should().BeTrue();
        (await holder.ReadLineAsync()).Should().Be("aborted");

        await holder.WriteLineAsync("release");
        (await holder.ReadLineAsync()).Should().Be("released");
        (await holder.WaitForExitAsync()).Should().Be(0);
        await using var lease = await provider.TryAcquireAsync(sessionId);
        lease.Should().NotBeNull();
    }

    [Test]
    public async Task TryAcquireAsync_HolderProcessKilled_LockFreed()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        await using var holder = WorkerProcess.Start("lock", "sqlite", DatabasePath, sessionId);
        (await holder.ReadLineAsync()).Should().Be("locked", holder.Errors);
        await using var provider = new SqliteSessionLockProvider(DatabasePath);
        (await provider.TryAcquireAsync(sessionId)).Should().BeNull();

        await holder.KillAsync();

        await using var lease = await provider.TryAcquireAsync(sessionId);
        lease.Should().NotBeNull("the operating system releases a dead process's file locks");
        provider.RequestAbort(AgentCoreIds.NewSessionId()).Should().BeFalse();
    }
}
