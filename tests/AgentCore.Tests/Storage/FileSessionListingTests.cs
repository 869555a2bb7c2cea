using AgentCore.Storage;

using static AgentCore.Tests.Storage.StoreTestData;

namespace AgentCore.Tests.Storage;

/// <summary>The file store's listing index (<c>sessions.index</c>): served while current, rebuilt when stale or damaged.</summary>
[TestFixture]
public sealed class FileSessionListingTests : FileStoreTestBase
{
    private string IndexPath => Path.Combine(DataDirectory, FileSessionListing.IndexFileName);

    /// <summary>
    /// Lists, the folder's time first set a minute back: a change stamped in the same clock tick as the scan's start is
    /// never indexed, and the store's last write may have been in that tick.
    /// </summary>
    private async Task<List<SessionInfo>> ListIndexedAsync(FileSessionStore store)
    {
        File.Delete(IndexPath);
        Directory.SetLastWriteTimeUtc(SessionsFolder, DateTime.UtcNow.AddMinutes(-1));
        var listed = await ListAsync(store);
        File.Exists(IndexPath).Should().BeTrue("a listing of a folder unchanged since its scan started writes the index");
        return listed;
    }

    [Test]
    public async Task ListSessionsAsync_FolderUnchangedSinceTheIndex_ServedFromTheIndex()
    {
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        await ListIndexedAsync(store);
        var folderTime = Directory.GetLastWriteTimeUtc(SessionsFolder);

        // Changed in place (not as the store writes), the folder's time put back: only the index can still say the old title.
        await File.WriteAllTextAsync(SessionFile(session.Id), StoredRecords.SerializeSession(session with { Title = "changed in place" }));
        Directory.SetLastWriteTimeUtc(SessionsFolder, folderTime);

        (await ListAsync(store)).Should().ContainSingle().Which.Title.Should().Be(session.Title);
    }

    [Test]
    public async Task ListSessionsAsync_SavedUpdatedAndDeletedAfterAListing_ListsEachChange()
    {
        var store = Store();
        var first = Session(T0);
        await store.SaveSessionAsync(first);
        await ListIndexedAsync(store);

        // Through another instance (another process would do the same), so nothing in memory can tell the listing.
        var second = Session(T0.AddMinutes(1));
        await Store().SaveSessionAsync(second);
        (await ListAsync(store)).Select(s => s.Id).Should().Equal(second.Id, first.Id);

        await ListIndexedAsync(store);
        await Store().UpdateSessionAsync(first.Id, s => s with { Title = "renamed" });
        (await ListAsync(store)).Select(s => s.Title).Should().Equal(second.Title, "renamed");

        await ListIndexedAsync(store);
        await Store().SaveSessionAsync(second with { Title = "saved again" });
        (await ListAsync(store)).Select(s => s.Title).Should().Equal("saved again", "renamed");

        await ListIndexedAsync(store);
        await Store().DeleteSessionAsync(second.Id);
        (await ListAsync(store)).Select(s => s.Id).Should().Equal(first.Id);
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task ListSessionsAsync_SessionFileAddedByHandAfterAListing_Listed()
    {
        var store = Store();
        var first = Session(T0);
        await store.SaveSessionAsync(first);
        await ListIndexedAsync(store);

        var copied = Session(T0.AddMinutes(1));
        await File.WriteAllTextAsync(SessionFile(copied.Id), StoredRecords.SerializeSession(copied));

        (await ListAsync(store)).Select(s => s.Id).Should().Equal(copied.Id, first.Id);
    }

    [TestCase(0.5)]
    [TestCase(0.0)]
    [TestCase(-1.0)]
    public async Task ListSessionsAsync_IndexTornEmptyOrGarbage_RebuiltAndEverySessionListed(double keep)
    {
        var store = Store();
        var sessions = Enumerable.Range(0, 300).Select(i => Session(T0.AddMinutes(i))).ToList();
        foreach (var session in sessions)
        {
            await store.SaveSessionAsync(session);
        }

        await ListIndexedAsync(store);
        var folderTime = Directory.GetLastWriteTimeUtc(SessionsFolder);
        byte[] index = await File.ReadAllBytesAsync(IndexPath);
        byte[] damaged = keep >= 0 ? index[..(int)(index.Length * keep)] : [.. index.Select(static (b, i) => (byte)(b ^ (i % 7 == 3 ? 0x5a : 0)))];
        await File.WriteAllBytesAsync(IndexPath, damaged);
        Directory.SetLastWriteTimeUtc(SessionsFolder, folderTime);

        var listed = await ListAsync(store);

        listed.Select(s => s.Id).Should().Equal(sessions.Select(s => s.Id).Reverse());
        (await File.ReadAllBytesAsync(IndexPath)).Length.Should().Be(index.Length, "the index is written anew");
        (await ListAsync(store)).Should().BeEquivalentTo(listed, o => o.WithStrictOrdering());
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task ListSessionsAsync_CorruptSessionFileListedTwice_WarnedEachTime()
    {
        var store = Store();
        var good = Session(T0);
        await store.SaveSessionAsync(good);
        string corruptId = AgentCoreIds.NewSessionId();
        await File.WriteAllTextAsync(SessionFile(corruptId), "{\"id\": \"" + corruptId + "\", \"title\": ");
        await ListIndexedAsync(store);
        Logger.Warnings.Should().ContainSingle();

        (await ListAsync(store)).Select(s => s.Id).Should().Equal(good.Id);

        Logger.Warnings.Should().HaveCount(2).And.OnlyContain(w => w.Message.Contains(corruptId) && !w.Message.Contains("{\"id\""), "a corrupt file's content is never logged");
    }

    [Test]
    public async Task ListSessionsAsync_FolderTimeNotOlderThanTheScan_NoIndexWritten()
    {
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);

        // A change the file system stamped no earlier than the scan's start could have been missed by it: not indexed.
        Directory.SetLastWriteTimeUtc(SessionsFolder, DateTime.UtcNow.AddHours(1));

        (await ListAsync(store)).Select(s => s.Id).Should().Equal(session.Id);
        File.Exists(IndexPath).Should().BeFalse();
        Directory.EnumerateFiles(DataDirectory).Should().BeEmpty("no temporary index is left behind");
    }
}
