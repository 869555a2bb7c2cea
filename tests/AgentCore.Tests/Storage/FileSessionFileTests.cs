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

    [Test]
    public async Task GetSessionAsync_IndentedSessionFileWithATornAppend_ReadsTheIndentedRecord()
    {
        // A change appended to a file indented by hand, torn by a crash: the torn tail is not part of the record.
        var session = Session(T0);
        Directory.CreateDirectory(SessionsFolder);
        string indented = JsonSerializer.Serialize(JsonDocument.Parse(Record(session)).RootElement, new JsonSerializerOptions { WriteIndented = true });
        byte[] next = Record(session with { Title = "never written whole" });
        await File.WriteAllBytesAsync(SessionFile(session.Id), [.. Encoding.UTF8.GetBytes(indented + "\n"), .. next.AsSpan(0, next.Length / 2)]);

        (await Store().GetSessionAsync(session.Id))!.Title.Should().Be(session.Title);
        (await ListAsync(Store())).Should().ContainSingle().Which.Title.Should().Be(session.Title);
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task GetSessionAsync_NewestCompleteRecordDamaged_ServesTheOlderAndWarns()
    {
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        await store.UpdateSessionAsync(session.Id, s => s with { Title = "renamed" });
        string[] lines = Lines(SessionFile(session.Id));
        lines.Should().HaveCount(2);
        lines[1] = lines[1].Replace("\"renamed\"", "\"renamed", StringComparison.Ordinal); // Damaged after it was written whole.
        await File.WriteAllTextAsync(SessionFile(session.Id), string.Join('\n', lines) + "\n");

        (await Store().GetSessionAsync(session.Id))!.Title.Should().Be(session.Title);

        var warning = Logger.Warnings.Should().ContainSingle().Subject;
        warning.Message.Should().Contain(session.Id).And.Contain(SessionFile(session.Id)).And.NotContain("renamed");
    }

    [Test]
    public async Task ListSessionsAsync_ProcessDiedBeforeMarkingTheFolderAfterAnAppend_ListsTheChange()
    {
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        string index = Path.Combine(DataDirectory, FileSessionListing.IndexFileName);
        Directory.SetLastWriteTimeUtc(SessionsFolder, DateTime.UtcNow.AddMinutes(-1)); // Indexed from a quiet folder.
        (await ListAsync(store)).Should().ContainSingle().Which.Title.Should().Be(session.Title);
        File.Exists(index).Should().BeTrue();

        // Killed after the append, before the folder's time is set again: only the time set before the append is there.
        store.MarkListingOverride = static (listing, afterAppend) => afterAppend || listing.MarkChanged();
        await store.UpdateSessionAsync(session.Id, s => s with { Title = "renamed" });

        Lines(SessionFile(session.Id)).Should().HaveCount(2, "the change was appended");
        (await ListAsync(Store())).Should().ContainSingle().Which.Title.Should().Be("renamed");
    }

    [Test]
    public async Task UpdateSessionAsync_FolderTimeCannotBeSetBeforeTheAppend_RewritesTheFileInstead()
    {
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        var calls = new List<bool>();
        store.MarkListingOverride = (_, afterAppend) =>
        {
            calls.Add(afterAppend);
            return false;
        };

        await store.UpdateSessionAsync(session.Id, s => s with { Title = "renamed" });

        calls.Should().Equal(false);
        Lines(SessionFile(session.Id)).Should().HaveCount(1, "the rename of a rewrite changes the folder");
        (await Store().GetSessionAsync(session.Id))!.Title.Should().Be("renamed");
        (await ListAsync(Store())).Should().ContainSingle().Which.Title.Should().Be("renamed");
    }

    [Test]
    public async Task UpdateSessionAsync_FolderTimeCannotBeSetAfterTheAppend_ChangeStoredOnceAndWarned()
    {
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        using var cancellation = new CancellationTokenSource();
        store.MarkListingOverride = (listing, afterAppend) =>
        {
            if (afterAppend)
            {
                // Whatever follows the stored change must neither fail nor write it again.
                cancellation.Cancel();
                return false;
            }

            return listing.MarkChanged();
        };

        var updated = await store.UpdateSessionAsync(session.Id, s => s with { Title = s.Title + "+" }, cancellation.Token);

        updated!.Title.Should().Be(session.Title + "+");
        Lines(SessionFile(session.Id)).Should().HaveCount(2, "the appended change stands; no rewrite follows");
        (await Store().GetSessionAsync(session.Id))!.Title.Should().Be(session.Title + "+");
        Logger.Warnings.Should().ContainSingle().Which.Message.Should().Contain(SessionFile(session.Id));
    }

    [Test]
    public async Task DeleteSessionAsync_JournalKeptOpenForAppends_NoHandleLeftOnTheDeletedJournal()
    {
        if (!Directory.Exists("/proc/self/fd") || !UnixFileLock.CanCheckPath)
        {
            Assert.Ignore("Needs /proc/self/fd and a journal kept open between appends (64-bit Linux).");
        }

        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        await store.SaveMessageAsync(UserMessage(session.Id, "hello"));
        await store.SaveMessageAsync(UserMessage(session.Id, "again"));
        OpenLinksTo(Journal(session.Id)).Should().NotBeEmpty("the appends keep the journal open");

        (await store.DeleteSessionAsync(session.Id)).Should().BeTrue();

        File.Exists(Journal(session.Id)).Should().BeFalse();
        OpenLinksTo(Journal(session.Id)).Should().BeEmpty("the deleted journal's space is freed at once");
    }

    /// <summary>The process's open file descriptors naming <paramref name="path"/> (or it deleted).</summary>
    private static List<string> OpenLinksTo(string path)
    {
        var links = new List<string>();
        foreach (string fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && (target == path || target == path + " (deleted)"))
                {
                    links.Add(fd);
                }
            }
            catch (IOException)
            {
                // Closed since the listing.
            }
        }

        return links;
    }
}
