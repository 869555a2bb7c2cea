using AgentCore.Storage.Worker;
using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

/// <summary>Two processes on one SQLite file, writing and chatting through AgentCore, with the <see cref="FileSessionLockProvider"/> of <c>UseSqlite</c> between them.</summary>
[TestFixture]
public sealed class SqliteTwoProcessTests : TwoProcessTests
{
    private string _directory = null!;

    protected override string Backend => "sqlite";

    protected override string Target => Path.Combine(_directory, "agentcore.db");

    protected override string DataDirectory => _directory;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("agentcore-sqlite-chat-").FullName;

    [TearDown]
    public void DeleteDirectory()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override ISessionStore OpenStore() => new SqliteSessionStore(Target);

    protected override IAsyncEnumerable<SessionHistoryEntry> ReadHistoryAsync() => new JsonlSessionHistory(_directory).ReadAsync();

    // The operating system releases a process's file locks as it dies, before its exit is reported.
    protected override Task WaitUntilLockFreeAsync(string sessionId) => Task.CompletedTask;

    protected override ISessionLockProvider OpenLockProvider() => new FileSessionLockProvider(SqliteAgentCoreBuilderExtensions.LockDirectoryOf(Target));
}
