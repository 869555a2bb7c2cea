using System.Text;
using System.Text.Json;
using AgentCore.Storage;

using static AgentCore.Tests.Storage.StoreTestData;

namespace AgentCore.Tests.Storage;

/// <summary>
/// The file store's session file: changes appended as whole records (no file created), the last whole line served, torn
/// and old-format files, and the rewrite once the file grows.
/// </summary>
[TestFixture]
public sealed class FileSessionFileTests : FileStoreTestBase
{
    private static byte[] Record(SessionInfo session) => JsonSerializer.SerializeToUtf8Bytes(session, AgentCoreJsonContext.Default.SessionInfo);

    private static string[] Lines(string path) => File.ReadAllText(path).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private string[] SessionsFolderEntries() => Directory.GetFileSystemEntries(SessionsFolder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Test]
    public async Task UpdateSessionAsync_ExistingSession_AppendsTheSessionAsANewLineAndCreatesNoFile()
    {
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        var entries = SessionsFolderEntries();
        long lengthBefore = new FileInfo(SessionFile(session.Id)).Length;

        await store.UpdateSessionAsync(session.Id, s => s with { Title = "renamed" });
        await store.SaveSessionAsync(session with { Title = "saved" });

        SessionsFolderEntries().Should().Equal(entries, "a change is appended to the session file");
        Lines(SessionFile(session.Id)).Should().HaveCount(3);
        new FileInfo(SessionFile(session.Id)).Length.Should().BeGreaterThan(lengthBefore);
        (await Store().GetSessionAsync(session.Id))!.Title.Should().Be("saved");
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task GetSessionAsync_LastRecordTornByACrash_ReadsTheRecordBeforeIt()
    {
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        byte[] next = Record(session with { Title = "never written whole" });
        await using (var file = new FileStream(SessionFile(session.Id), FileMode.Append))
        {
            await file.WriteAsync(next.AsMemory(0, next.Length / 2));
        }

        (await Store().GetSessionAsync(session.Id))!.Title.Should().Be(session.Title);
        (await ListAsync(Store())).Should().ContainSingle().Which.Title.Should().Be(session.Title);

        // The next change starts on a new line: the torn rest becomes a line of its own, skipped.
        await Store().UpdateSessionAsync(session.Id, s => s with { Title = "after the crash" });
        (await Store().GetSessionAsync(session.Id))!.Title.Should().Be("after the crash");
        Lines(SessionFile(session.Id)).Should().HaveCount(3);
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task GetSessionAsync_NoLineReads_NullAndWarned()
    {
        var session = Session(T0);
        Directory.CreateDirectory(SessionsFolder);
        await File.WriteAllTextAsync(SessionFile(session.Id), "{\"id\":\n{not json}\n");

        (await Store().GetSessionAsync(session.Id)).Should().BeNull();
        Logger.Warnings.Should().ContainSingle().Which.Message.Should().Contain(session.Id);
    }

    [Test]
    public async Task GetSessionAsync_SessionFileOfTheEarlierFormat_ReadsAndTakesChanges()
    {
        // One JSON object without a line break, as versions before appended records wrote it.
        var session = Session(T0);
        Directory.CreateDirectory(SessionsFolder);
        await File.WriteAllBytesAsync(SessionFile(session.Id), Record(session));
        var store = Store();
        (await store.GetSessionAsync(session.Id))!.Title.Should().Be(session.Title);

        await store.UpdateSessionAsync(session.Id, s => s with { Title = "renamed" });

        Lines(SessionFile(session.Id)).Should().HaveCount(2, "the change starts on a line of its own");
        (await Store().GetSessionAsync(session.Id))!.Title.Should().Be("renamed");
        (await ListAsync(Store())).Should().ContainSingle().Which.Title.Should().Be("renamed");
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task GetSessionAsync_IndentedSessionFileWrittenByHand_Reads()
    {
        var session = Session(T0);
        Directory.CreateDirectory(SessionsFolder);
        string indented = JsonSerializer.Serialize(JsonDocument.Parse(Record(session)).RootElement, new JsonSerializerOptions { WriteIndented = true });
        await File.WriteAllTextAsync(SessionFile(session.Id), indented + "\n");

        (await Store().GetSessionAsync(session.Id))!.Title.Should().Be(session.Title);
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task UpdateSessionAsync_FileWouldPassTheRewriteLength_RewrittenWithTheCurrentRecordOnly()
    {
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        int perRecord = Record(session with { Title = "title 000" }).Length + 1;
        int appends = (FileSessionFile.RewriteAt / perRecord) + 2;
        var lineCounts = new List<int>();
        for (int i = 0; i < appends; i++)
        {
            string title = $"title {i:000}";
            await store.UpdateSessionAsync(session.Id, s => s with { Title = title });
            new FileInfo(SessionFile(session.Id)).Length.Should().BeLessThanOrEqualTo(FileSessionFile.RewriteAt);
            lineCounts.Add(Lines(SessionFile(session.Id)).Length);
        }

        lineCounts.Should().Contain(1, "a change that would pass the length rewrites the file with one record");
        lineCounts.Max().Should().BeGreaterThan(2);
        (await Store().GetSessionAsync(session.Id))!.Title.Should().Be($"title {appends - 1:000}");
        SessionsFolderEntries().Should().Equal(session.Id + ".json");
    }

    [Test]
    public async Task GetSessionAsync_CrashBetweenTheStepsOfARewrite_ReadsTheFileBeforeIt()
    {
        // A rewrite writes a temporary file, then renames it over the session file: killed before the rename, the
        // temporary file is left (whole or torn) beside the untouched session file.
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        await store.UpdateSessionAsync(session.Id, s => s with { Title = "appended" });
        byte[] rewritten = Record(session with { Title = "rewritten" });
        string temporary = SessionFile(session.Id) + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllBytesAsync(temporary, rewritten.AsMemory(0, rewritten.Length / 2).ToArray());

        (await Store().GetSessionAsync(session.Id))!.Title.Should().Be("appended");
        (await ListAsync(Store())).Should().ContainSingle().Which.Title.Should().Be("appended");

        // Killed after the rename: the session file is the rewritten one.
        await File.WriteAllBytesAsync(temporary, [.. rewritten, (byte)'\n']);
        File.Move(temporary, SessionFile(session.Id), overwrite: true);
        (await Store().GetSessionAsync(session.Id))!.Title.Should().Be("rewritten");
        (await ListAsync(Store())).Should().ContainSingle().Which.Title.Should().Be("rewritten");
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task ListSessionsAsync_ChangesAppendedAfterTheIndex_ListsTheLastAndIndexesOnlyIt()
    {
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        for (int i = 0; i < 5; i++)
        {
            string title = $"title {i}";
            await Store().UpdateSessionAsync(session.Id, s => s with { Title = title });
            (await ListAsync(store)).Should().ContainSingle().Which.Title.Should().Be(title);
        }

        // Indexed from a quiet folder: the index holds the current record, not the file's older ones.
        string index = Path.Combine(DataDirectory, FileSessionListing.IndexFileName);
        File.Delete(index);
        Directory.SetLastWriteTimeUtc(SessionsFolder, DateTime.UtcNow.AddMinutes(-1));
        (await ListAsync(store)).Should().ContainSingle().Which.Title.Should().Be("title 4");
        File.Exists(index).Should().BeTrue();
        Encoding.UTF8.GetString(await File.ReadAllBytesAsync(index)).Should().Contain("title 4").And.NotContain("title 3");
        (await ListAsync(store)).Should().ContainSingle().Which.Title.Should().Be("title 4");

        await Store().UpdateSessionAsync(session.Id, s => s with { Title = "after the index" });
        (await ListAsync(store)).Should().ContainSingle().Which.Title.Should().Be("after the index");
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task SaveMessageAsync_SessionLockHeldByAnotherProcess_WaitsForItAndCreatesNoJournalLockFile()
    {
        // One lock file per session guards its session file and its journal: another process holding it (an exclusive
        // open, as a process of an earlier version or .NET itself locks) holds back journal appends too.
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        string lockFile = Path.Combine(DataDirectory, "locks", session.Id + ".session.lock");
        File.Exists(lockFile).Should().BeTrue();

        var other = new FileStream(lockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        var saving = store.SaveMessageAsync(UserMessage(session.Id, "hello")).AsTask();
        saving.IsCompleted.Should().BeFalse("another open file holds the session's lock");
        await other.DisposeAsync();
        await saving;

        (await Store().GetMessagesAsync(session.Id)).Should().ContainSingle().Which.Text.Should().Be("hello");
        Directory.GetFiles(Path.Combine(DataDirectory, "messages")).Select(Path.GetFileName).Should().Equal(session.Id + ".jsonl");
    }
}
