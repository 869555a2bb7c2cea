using AgentCore.Storage.Worker;

namespace AgentCore.Tests.Storage;

/// <summary>
/// Two processes on one data folder with the defaults of <c>AddAgentCore</c> — the file store and its
/// <see cref="FileSessionLockProvider"/> — writing and chatting through AgentCore as two PostgreSQL instances would.
/// </summary>
[TestFixture]
public sealed class FileTwoProcessTests : TwoProcessTests
{
    private string _directory = null!;

    protected override string Backend => "file";

    protected override string Target => _directory;

    protected override string DataDirectory => _directory;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("agentcore-file-chat-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    protected override ISessionStore OpenStore() => new FileSessionStore(_directory);

    protected override IAsyncEnumerable<SessionHistoryEntry> ReadHistoryAsync() => new JsonlSessionHistory(_directory).ReadAsync();

    // The operating system releases a process's file locks as it dies, before its exit is reported.
    protected override Task WaitUntilLockFreeAsync(string sessionId) => Task.CompletedTask;

    // The sessions folder made older than the first listing, as a quiet folder is: that listing writes the listing index
    // (else a session created in the same clock tick would leave it unwritten, and the renames would not test it).
    protected override void BeforeFirstListing() =>
        Directory.SetLastWriteTimeUtc(Path.Combine(_directory, "sessions"), DateTime.UtcNow.AddMinutes(-1));

    protected override ISessionLockProvider OpenLockProvider() => new FileSessionLockProvider(Path.Combine(_directory, "locks"));
}
