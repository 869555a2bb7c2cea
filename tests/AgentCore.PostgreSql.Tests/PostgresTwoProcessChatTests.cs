using AgentCore.Storage.Worker;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary>
/// Two processes chatting through AgentCore on one PostgreSQL database, with <see cref="PostgresSessionLockProvider"/>
/// (advisory locks, LISTEN/NOTIFY aborts) between them and the usage history in the database.
/// </summary>
[TestFixture]
public sealed class PostgresTwoProcessChatTests : TwoProcessChatTests
{
    private string _connectionString = null!;
    private string _directory = null!;

    protected override string Backend => "postgres";

    protected override string Target => _connectionString;

    protected override string DataDirectory => _directory;

    [SetUp]
    public void CreateDatabase()
    {
        _connectionString = PostgresServer.CreateDatabase();
        _directory = Directory.CreateTempSubdirectory("agentcore-pg-chat-").FullName;
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    protected override ISessionStore OpenStore() => new PostgresSessionStore(_connectionString);

    protected override async IAsyncEnumerable<SessionHistoryEntry> ReadHistoryAsync()
    {
        await using var history = new PostgresSessionHistory(_connectionString);
        await foreach (var entry in history.ReadAsync())
        {
            yield return entry;
        }
    }

    // The server ends a killed process's backend, and with it its advisory locks, once it sees the connection closed.
    protected override Task WaitUntilLockFreeAsync(string sessionId) => PostgresTwoProcessTests.WaitForLockReleaseAsync(_connectionString, sessionId);
}
