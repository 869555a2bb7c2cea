using AgentCore.Tests.Fakes;
using AgentCore.Tests.Support;

using static AgentCore.Tests.Storage.StoreTestData;

namespace AgentCore.Tests.Storage;

/// <summary>
/// The file store on a read-only and on a full file system: real mounts (a read-only bind mount, a 1 MB tmpfs), so the
/// operating system's own errors (EROFS, ENOSPC) are what the store meets. Skipped, saying why, where mounting is not possible.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class FileSessionStoreDiskTests
{
    private TempDirectory _temp = null!;
    private CapturingLogger<FileSessionStore> _logger = null!;
    private readonly List<MountedFolder> _mounts = [];

    [SetUp]
    public void SetUp()
    {
        _temp = new TempDirectory();
        _logger = new CapturingLogger<FileSessionStore>();
    }

    [TearDown]
    public void TearDown()
    {
        foreach (var mount in _mounts)
        {
            mount.Dispose();
        }

        _mounts.Clear();
        _temp.Dispose();
    }

    [Test]
    public async Task Reads_ReadOnlyDataFolderWithLongJournal_ServeEverything()
    {
        var (session, message) = await WriteLongSessionAsync(_temp.Combine("data"));
        string readOnly = MountReadOnly(_temp.Combine("data"));
        var store = new FileSessionStore(readOnly, _logger);

        (await store.GetSessionAsync(session.Id)).Should().BeEquivalentTo(session);
        (await ListAsync(store)).Should().ContainSingle().Which.Id.Should().Be(session.Id);
        var read = await store.GetMessagesAsync(session.Id);
        read.Should().ContainSingle();
        ShouldEqual(read[0], message);
        (await store.GetMessagesAsync(session.Id)).Should().ContainSingle("a second read of the same long journal serves it as well");
        _logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task Writes_ReadOnlyDataFolder_FailAtOnceNamingThePath()
    {
        var (session, message) = await WriteLongSessionAsync(_temp.Combine("data"));
        string readOnly = MountReadOnly(_temp.Combine("data"));
        var store = new FileSessionStore(readOnly, _logger);
        await store.GetMessagesAsync(session.Id); // finds the journal due for compaction: the next write tries it first

        var text = message.Parts.OfType<TextPart>().Single();
        text.Text += "!";
        var append = await FluentActions.Awaiting(() => store.SavePartAsync(message, text, "!").AsTask()).Should().ThrowAsync<IOException>();
        // The journal's writes take the session's one lock (its session file's) first: its lock file is the first file written.
        append.Which.Message.Should().Contain(Path.Combine(readOnly, "locks", session.Id + ".session.lock"))
            .And.Contain("could not write").And.Contain("DataDirectory");
        var save = await FluentActions.Awaiting(() => store.SaveSessionAsync(session with { Title = "renamed" }).AsTask()).Should().ThrowAsync<IOException>();
        // A session write takes the session's cross-process lock first: the lock file is the first file it writes.
        save.Which.Message.Should().Contain(Path.Combine(readOnly, "locks", session.Id + ".session.lock"));
        var delete = await FluentActions.Awaiting(() => store.DeleteSessionAsync(session.Id).AsTask()).Should().ThrowAsync<IOException>();
        delete.Which.Message.Should().Contain(Path.Combine(readOnly, "locks", session.Id + ".session.lock"));

        (await store.GetSessionAsync(session.Id)).Should().BeEquivalentTo(session);
        (await store.GetMessagesAsync(session.Id)).Should().ContainSingle().Which.Text.Should().NotEndWith("!");
    }

    [Test]
    public async Task Writes_FullDisk_FailNamingThePathAndLoseNothingStored()
    {
        string data = MountTmpfs(_temp.Combine("small"), "1m");
        var store = new FileSessionStore(data, _logger);
        var session = Session(T0);
        var stored = EveryPartMessage(session.Id);
        await store.SaveSessionAsync(session);
        await store.SaveMessageAsync(stored);
        string journal = Path.Combine(data, "messages", session.Id + ".jsonl");
        long journalLength = new FileInfo(journal).Length;
        FillUp(Path.Combine(data, "filler"));

        var big = UserMessage(session.Id, new string('x', 256 * 1024));
        var append = await FluentActions.Awaiting(() => store.SaveMessageAsync(big).AsTask()).Should().ThrowAsync<IOException>();
        append.Which.Message.Should().Contain(journal).And.Contain("could not write");
        var save = await FluentActions.Awaiting(() => store.SaveSessionAsync(session with { Title = new string('t', 64 * 1024) }).AsTask())
            .Should().ThrowAsync<IOException>();
        save.Which.Message.Should().Contain(Path.Combine(data, "sessions", session.Id + ".json"));

        new FileInfo(journal).Length.Should().Be(journalLength, "a record the disk could only take part of is cut off again");
        Directory.EnumerateFiles(Path.Combine(data, "sessions")).Should().ContainSingle("no temporary file is left behind");
        File.Delete(Path.Combine(data, "filler"));
        var reopened = new FileSessionStore(data, _logger);
        (await reopened.GetSessionAsync(session.Id)).Should().BeEquivalentTo(session);
        ShouldEqual((await reopened.GetMessagesAsync(session.Id)).Should().ContainSingle().Subject, stored);
        await reopened.SaveMessageAsync(big);
        (await reopened.GetMessagesAsync(session.Id)).Should().HaveCount(2, "once there is room again, writes work");
        _logger.Warnings.Should().BeEmpty();
    }

    /// <summary>A session whose journal is long enough (hundreds of appends) that a read finds it due for compaction.</summary>
    private static async Task<(SessionInfo Session, SessionMessage Message)> WriteLongSessionAsync(string directory)
    {
        var store = new FileSessionStore(directory);
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        var message = AssistantMessage(session.Id);
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "" };
        message.Parts.Add(text);
        await store.SaveMessageAsync(message);
        for (int i = 0; i < 300; i++)
        {
            string chunk = $"{i} ";
            text.Text += chunk;
            await store.SavePartAsync(message, text, chunk);
        }

        return (session, message);
    }

    private string MountReadOnly(string source)
    {
        var mount = MountedFolder.TryReadOnly(source, _temp.Combine("read-only"), out string? whyNot);
        if (mount is null)
        {
            Assert.Ignore("A read-only bind mount is not possible here: " + whyNot);
        }

        _mounts.Add(mount!);
        return mount!.Path;
    }

    private string MountTmpfs(string target, string size)
    {
        var mount = MountedFolder.TryTmpfs(target, size, out string? whyNot);
        if (mount is null)
        {
            Assert.Ignore("A small tmpfs cannot be mounted here: " + whyNot);
        }

        _mounts.Add(mount!);
        return mount!.Path;
    }

    private static void FillUp(string path)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1);
        byte[] block = new byte[4096];
        try
        {
            while (true)
            {
                stream.Write(block);
            }
        }
        catch (IOException)
        {
            // ENOSPC: the file system is full.
        }
    }
}
