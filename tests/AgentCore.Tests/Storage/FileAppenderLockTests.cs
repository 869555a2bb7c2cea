using AgentCore.Tests.Support;

namespace AgentCore.Tests.Storage;

/// <summary>
/// <see cref="FileAppender.LockAsync"/> against other holders of the same lock file: a lock kept open and taken with
/// <c>flock</c> excludes, and is excluded by, a lock taken by opening the file with <see cref="FileShare.None"/> (how
/// another process of an earlier version, or .NET itself, locks it).
/// </summary>
[TestFixture]
public sealed class FileAppenderLockTests
{
    private TempDirectory _temp = null!;

    [SetUp]
    public void SetUp() => _temp = new TempDirectory();

    [TearDown]
    public void TearDown() => _temp.Dispose();

    private static FileStream OpenExclusively(string lockPath) =>
        new(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);

    [TestCase("replaced")]
    [TestCase("deleted")]
    public async Task AppendAsync_FileReplacedOrDeletedBetweenAppends_NextAppendGoesToTheFileThePathNames(string change)
    {
        // Another process rewrites a journal (a new file renamed over it) or deletes it under its lock, while this process
        // keeps the old file open between appends.
        string path = _temp.Combine("journal.jsonl");
        await FileAppender.AppendAsync(path, "first\n"u8.ToArray(), "journal", CancellationToken.None);
        if (change == "replaced")
        {
            await File.WriteAllTextAsync(path + ".new", "rewritten\n");
            File.Move(path + ".new", path, overwrite: true);
        }
        else
        {
            File.Delete(path);
        }

        await FileAppender.AppendAsync(path, "second\n"u8.ToArray(), "journal", CancellationToken.None);
        await FileAppender.AppendAsync(path, before => ("third\n"u8.ToArray(), false), "journal", CancellationToken.None);

        (await File.ReadAllTextAsync(path)).Should().Be(change == "replaced" ? "rewritten\nsecond\nthird\n" : "second\nthird\n");
    }

    [Test]
    public async Task LockAsync_Held_AnExclusiveOpenOfTheLockFileIsRefusedUntilReleased()
    {
        string path = _temp.Combine("journal.jsonl");
        var held = await FileAppender.LockAsync(path, CancellationToken.None);

        var refused = FluentActions.Invoking(() => OpenExclusively(path + ".lock")).Should().Throw<IOException>().Which;
        FileAppender.IsHeldByAnother(refused).Should().BeTrue();

        await held.DisposeAsync();
        using (OpenExclusively(path + ".lock"))
        {
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task LockAsync_LockFileOpenedExclusivelyElsewhere_WaitsUntilItIsClosed(bool alreadyKeptOpen)
    {
        string path = _temp.Combine("journal.jsonl");
        if (alreadyKeptOpen)
        {
            await (await FileAppender.LockAsync(path, CancellationToken.None)).DisposeAsync();
        }

        var other = OpenExclusively(path + ".lock");
        var waiting = FileAppender.LockAsync(path, CancellationToken.None).AsTask();
        waiting.IsCompleted.Should().BeFalse("another open file holds the lock");

        await other.DisposeAsync();
        await (await waiting).DisposeAsync();
    }

    [Test]
    public async Task LockAsync_MoreLockFilesThanAreKeptOpen_EachStillExcludesOtherHolders()
    {
        var paths = Enumerable.Range(0, FileAppender.MaxOpenLockFiles + 20).Select(i => _temp.Combine($"journal-{i}.jsonl")).ToList();
        foreach (string path in paths)
        {
            await (await FileAppender.LockAsync(path, CancellationToken.None)).DisposeAsync();
        }

        foreach (string path in new[] { paths[0], paths[^1] })
        {
            var held = await FileAppender.LockAsync(path, CancellationToken.None);
            FluentActions.Invoking(() => OpenExclusively(path + ".lock")).Should().Throw<IOException>();
            await held.DisposeAsync();
            using (OpenExclusively(path + ".lock"))
            {
            }
        }
    }

    [Test]
    public async Task LockAsync_ManyMorePathsThanLockFilesKeptOpen_EachLocksAndTheTableStaysBounded()
    {
        if (!UnixFileLock.IsAvailable)
        {
            Assert.Ignore("Lock files are kept open only where flock is available.");
        }

        var paths = Enumerable.Range(0, FileAppender.MaxOpenLockFiles * 3).Select(i => _temp.Combine($"journal-{i}.jsonl")).ToList();
        foreach (string path in paths)
        {
            var held = await FileAppender.LockAsync(path, CancellationToken.None);
            await held.DisposeAsync();
        }

        FileAppender.TrackedPaths.Should().BeLessThanOrEqualTo(FileAppender.MaxOpenLockFiles + 1, "idle lock files closed leave the table");
        foreach (string path in new[] { paths[0], paths[FileAppender.MaxOpenLockFiles], paths[^1] })
        {
            var held = await FileAppender.LockAsync(path, CancellationToken.None);
            FluentActions.Invoking(() => OpenExclusively(path + ".lock")).Should().Throw<IOException>();
            await held.DisposeAsync();
        }
    }

    [Test]
    public async Task LockAsync_LockFileDeletedAndMadeAgain_ANewHolderOfThePathExcludesIt()
    {
        string path = _temp.Combine("journal.jsonl");
        await (await FileAppender.LockAsync(path, CancellationToken.None)).DisposeAsync(); // the lock file is kept open
        File.Delete(path + ".lock");

        var other = OpenExclusively(path + ".lock"); // a new lock file, locked by another holder
        var waiting = FileAppender.LockAsync(path, CancellationToken.None).AsTask();
        waiting.IsCompleted.Should().BeFalse("the path's lock file is held elsewhere, whatever file was kept open before");

        await other.DisposeAsync();
        var held = await waiting;
        FluentActions.Invoking(() => OpenExclusively(path + ".lock")).Should().Throw<IOException>("the lock is on the path's file now");
        await held.DisposeAsync();
    }

    [Test]
    public void TryLockExclusive_FlockFailsForAnotherReason_ThrowsNamingPathAndErrno()
    {
        if (!UnixFileLock.IsAvailable)
        {
            Assert.Ignore("flock is not available on this platform.");
        }

        // An invalid descriptor: flock fails with EBADF (9), which is no "cannot lock here" and must not pass as locked.
        string lockPath = _temp.Combine("journal.jsonl.lock");
        using var invalid = new Microsoft.Win32.SafeHandles.SafeFileHandle(-1, ownsHandle: false);

        var thrown = FluentActions.Invoking(() => UnixFileLock.TryLockExclusive(invalid, lockPath)).Should().Throw<IOException>().Which;

        thrown.Message.Should().Contain(lockPath).And.Contain("errno 9");
    }
}
