using System.Text;
using AgentCore.Storage.Worker;

using static AgentCore.Tests.Storage.StoreTestData;

namespace AgentCore.Tests.Storage;

[TestFixture]
public sealed class FileSessionStoreTests : FileStoreTestBase
{
    private ISessionStore CreateStore() => new FileSessionStore(DataDirectory, Logger);

    // ---- layout and persistence ----

    [Test]
    public async Task SaveAsync_Always_WritesUnderTheDataDirectory()
    {
        var store = Store();
        var session = Session(T0);

        await store.SaveSessionAsync(session);
        await store.SaveMessageAsync(UserMessage(session.Id, "hi"));

        File.Exists(SessionFile(session.Id)).Should().BeTrue();
        File.Exists(Journal(session.Id)).Should().BeTrue();
        Directory.EnumerateFiles(Path.Combine(DataDirectory, "sessions")).Should().ContainSingle("no temporary file is left behind");
    }

    [Test]
    public async Task NewInstance_SameDirectory_ReadsWhatAnotherWrote()
    {
        var session = Session(T0);
        var message = EveryPartMessage(session.Id);
        await Store().SaveSessionAsync(session);
        await Store().SaveMessageAsync(message);

        var reopened = Store();

        (await reopened.GetSessionAsync(session.Id)).Should().BeEquivalentTo(session);
        ShouldEqual((await reopened.GetMessagesAsync(session.Id)).Single(), message);
    }

    [Test]
    public async Task DeleteSessionAsync_Existing_RemovesTheFiles()
    {
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        await store.SaveMessageAsync(UserMessage(session.Id, "hi"));

        await store.DeleteSessionAsync(session.Id);

        File.Exists(SessionFile(session.Id)).Should().BeFalse();
        File.Exists(Journal(session.Id)).Should().BeFalse();
    }

    // ---- invalid ids touch nothing ----

    [TestCaseSource(typeof(StoreTestData), nameof(StoreTestData.BadIdOperations))]
    public async Task AnyOperation_BadId_NothingCreatedOnDisk(string operation, string id)
    {
        // The data directory sits deep enough that a traversal would still land inside the temp folder.
        string root = Temp.Combine("root");
        string data = Path.Combine(root, "a", "b", "c", "data");
        Directory.CreateDirectory(root);
        var store = new FileSessionStore(data, Logger);

        await FluentActions.Awaiting(async () => await Operations[operation].Call(store, id)).Should().ThrowAsync<ArgumentException>();

        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Should().BeEmpty();
        File.Exists("/etc/passwd.jsonl").Should().BeFalse();
    }

    [Test]
    public async Task SaveMessageAsync_ValidId_CreatesFilesWhereTheBadIdTestLooks()
    {
        // The counterpart of AnyOperation_BadId_NothingCreatedOnDisk: the check it makes does see a write.
        string root = Temp.Combine("root");
        var store = new FileSessionStore(Path.Combine(root, "a", "b", "c", "data"), Logger);

        await Operations["SaveMessage.SessionId"].Call(store, AgentCoreIds.NewSessionId());

        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Should().NotBeEmpty();
    }

    // ---- corrupt files ----

    public static IEnumerable<TestCaseData> CorruptSessionFiles()
    {
        string valid = """{"id":"ses_x","title":"t","createdAt":"2026-03-01T09:30:00+00:00","updatedAt":"2026-03-01T09:30:00+00:00"}""";
        yield return new TestCaseData("").SetName("ListSessionsAsync_EmptySessionFile_SkippedWithWarning");
        yield return new TestCaseData(valid[..(valid.Length / 2)]).SetName("ListSessionsAsync_TruncatedSessionFile_SkippedWithWarning");
        yield return new TestCaseData("this is not json").SetName("ListSessionsAsync_NonJsonSessionFile_SkippedWithWarning");
        yield return new TestCaseData("null").SetName("ListSessionsAsync_JsonNullSessionFile_SkippedWithWarning");
        yield return new TestCaseData("{}").SetName("ListSessionsAsync_EmptyObjectSessionFile_SkippedWithWarning");
        yield return new TestCaseData("[1,2,3]").SetName("ListSessionsAsync_JsonArraySessionFile_SkippedWithWarning");
        yield return new TestCaseData(valid.Replace("ses_x", "../../x")).SetName("ListSessionsAsync_SessionFileWithBadId_SkippedWithWarning");
    }

    [TestCaseSource(nameof(CorruptSessionFiles))]
    public async Task ListSessionsAsync_CorruptSessionFile(string content)
    {
        var store = Store();
        var good = Session(T0);
        var alsoGood = Session(T0.AddMinutes(1));
        await store.SaveSessionAsync(good);
        await store.SaveSessionAsync(alsoGood);
        string corruptId = AgentCoreIds.NewSessionId();
        await File.WriteAllTextAsync(SessionFile(corruptId), content);

        var listed = await ListAsync(store);

        listed.Select(s => s.Id).Should().Equal(alsoGood.Id, good.Id);
        Logger.Warnings.Should().ContainSingle().Which.Message.Should().Contain(corruptId);
        if (content.Length > 0)
        {
            Logger.Warnings[0].Message.Should().NotContain(content, "a corrupt file's content is never logged");
        }
    }

    [TestCaseSource(nameof(CorruptSessionFiles))]
    public async Task GetSessionAsync_CorruptSessionFile_NullWithWarning(string content)
    {
        var store = Store();
        await store.SaveSessionAsync(Session(T0));
        string corruptId = AgentCoreIds.NewSessionId();
        await File.WriteAllTextAsync(SessionFile(corruptId), content);

        (await store.GetSessionAsync(corruptId)).Should().BeNull();

        Logger.Warnings.Should().ContainSingle().Which.Message.Should().Contain(corruptId);
    }

    [Test]
    public async Task GetSessionAsync_FileHoldsAnotherSession_NullWithWarning()
    {
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        string otherId = AgentCoreIds.NewSessionId();
        File.Copy(SessionFile(session.Id), SessionFile(otherId));

        (await store.GetSessionAsync(otherId)).Should().BeNull();
        (await ListAsync(store)).Select(s => s.Id).Should().Equal(session.Id);

        Logger.Warnings.Should().NotBeEmpty().And.OnlyContain(w => w.Message.Contains(otherId));
    }

    [Test]
    public async Task ListSessionsAsync_StrayFiles_IgnoredWithoutWarning()
    {
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        string folder = Path.Combine(DataDirectory, "sessions");
        await File.WriteAllTextAsync(Path.Combine(folder, session.Id + ".json.0123.tmp"), "{half");
        await File.WriteAllTextAsync(Path.Combine(folder, "notes.txt"), "hello");
        await File.WriteAllTextAsync(Path.Combine(folder, "not-a-session.json"), "garbage");
        Directory.CreateDirectory(Path.Combine(folder, "ses_folder.json"));

        (await ListAsync(store)).Select(s => s.Id).Should().Equal(session.Id);
        Logger.Warnings.Should().BeEmpty();
    }

    /// <summary>A session the store could not read back (a malformed parent id) is refused when saved or updated, naming the id.</summary>
    [Test]
    public async Task SaveAndUpdateSessionAsync_MalformedParentId_ThrowArgumentExceptionAndWriteNothing()
    {
        var store = Store();
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        var refused = Session(T0) with { ParentId = "../ses_x" };

        await FluentActions.Awaiting(() => store.SaveSessionAsync(refused).AsTask())
            .Should().ThrowAsync<ArgumentException>().WithMessage("*../ses_x*");
        await FluentActions.Awaiting(() => store.UpdateSessionAsync(session.Id, static s => s with { ParentId = "../ses_x" }).AsTask())
            .Should().ThrowAsync<ArgumentException>().WithMessage("*../ses_x*");

        File.Exists(SessionFile(refused.Id)).Should().BeFalse();
        (await store.GetSessionAsync(session.Id)).Should().BeEquivalentTo(session);
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task GetMessagesAsync_CorruptJournalLines_SkippedWithWarningsOthersKept()
    {
        var store = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        var first = UserMessage(sessionId, "first");
        await store.SaveMessageAsync(first);
        var goodLine = File.ReadAllText(Journal(sessionId));
        await File.AppendAllTextAsync(Journal(sessionId),
            "garbage that is not json\n" +
            goodLine[..(goodLine.Length / 2)] + "\n" +                          // a truncated record
            "\n" +                                                               // an empty line: nothing to warn about
            """{"k":"zz","m":null}""" + "\n" +                                   // an unknown kind of record
            """{"k":"t","mid":"msg_nothere","pid":"prt_x","t":"lost"}""" + "\n" + // text for a message that is not there
            "null\n");
        var second = UserMessage(sessionId, "second");
        await store.SaveMessageAsync(second);

        var read = await store.GetMessagesAsync(sessionId);

        read.Select(m => m.Text).Should().Equal("first", "second");
        Logger.Warnings.Should().HaveCount(5).And.OnlyContain(w => w.Message.Contains(Journal(sessionId)));
        Logger.Warnings.Select(w => w.Message).Should().Contain(m => m.Contains("line 2 "))
            .And.NotContain(m => m.Contains("garbage that is not json"), "a corrupt line's content is never logged");
    }

    [Test]
    public async Task GetMessagesAsync_BlankRoleAndNullPart_SkippedWithContentFreeWarningsNamingWhere()
    {
        var store = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        var blankRole = UserMessage(sessionId, "secret text of the blank-role message");
        var nullPart = UserMessage(sessionId, "kept text");
        nullPart.Parts.Add(new TextPart { Id = AgentCoreIds.NewPartId(), Text = "secret text of the other part" });
        await store.SaveMessageAsync(blankRole);
        await store.SaveMessageAsync(nullPart);
        var lines = File.ReadAllLines(Journal(sessionId));
        lines[0] = lines[0].Replace("\"role\":\"user\"", "\"role\":\"\"", StringComparison.Ordinal);
        int second = lines[1].IndexOf("{\"type\":\"text\",\"text\":\"secret", StringComparison.Ordinal);
        int end = lines[1].IndexOf('}', second);
        lines[1] = lines[1][..second] + "null" + lines[1][(end + 1)..];
        File.WriteAllText(Journal(sessionId), string.Join("\n", lines) + "\n");

        var read = await store.GetMessagesAsync(sessionId);

        read.Should().ContainSingle().Which.Text.Should().Be("kept text");
        Logger.Warnings.Select(w => w.Message).Should().SatisfyRespectively(
            blank => blank.Should().Contain(sessionId).And.Contain(blankRole.Id).And.Contain("line 1 ").And.Contain(Journal(sessionId)).And.Contain("no role"),
            part => part.Should().Contain(sessionId).And.Contain(nullPart.Id).And.Contain("line 2 ").And.Contain("#1").And.Contain("null"));
        Logger.Warnings.Should().NotContain(w => w.Message.Contains("secret"), "a record's content is never logged");
    }

    [Test]
    public async Task GetMessagesAsync_UnterminatedLastLine_NotYetThereWithoutWarning()
    {
        var store = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        await store.SaveMessageAsync(UserMessage(sessionId, "first"));
        var line = File.ReadAllText(Journal(sessionId));

        // A writer in another process has written half its record so far.
        await File.AppendAllTextAsync(Journal(sessionId), line[..(line.Length / 2)]);

        (await store.GetMessagesAsync(sessionId)).Select(m => m.Text).Should().Equal("first");
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task SaveMessageAsync_AfterACrashTornTheLastRecord_NewRecordKept()
    {
        var store = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        await store.SaveMessageAsync(UserMessage(sessionId, "before the crash"));
        var line = File.ReadAllText(Journal(sessionId));
        await File.AppendAllTextAsync(Journal(sessionId), line[..(line.Length / 2)]); // the process died mid-write

        await store.SaveMessageAsync(UserMessage(sessionId, "after the restart"));

        (await store.GetMessagesAsync(sessionId)).Select(m => m.Text).Should().Equal("before the crash", "after the restart");
        Logger.Warnings.Should().ContainSingle("the torn record is now a corrupt line of its own");
    }

    [Test]
    public async Task ListSessionsAsync_MessageJournalsUnreadable_ListsWithoutTouchingThem()
    {
        var store = Store();
        var sessions = Enumerable.Range(0, 3).Select(i => Session(T0.AddMinutes(i))).ToList();
        foreach (var session in sessions)
        {
            await store.SaveSessionAsync(session);
            await store.SaveMessageAsync(UserMessage(session.Id, "secret"));
        }

        // Every journal becomes a directory: reading one as a file throws.
        foreach (var session in sessions)
        {
            File.Delete(Journal(session.Id));
            Directory.CreateDirectory(Journal(session.Id));
        }

        var listed = await ListAsync(store);

        listed.Select(s => s.Id).Should().Equal(sessions.AsEnumerable().Reverse().Select(s => s.Id));
        (await store.GetSessionAsync(sessions[0].Id)).Should().NotBeNull();
        Logger.Warnings.Should().BeEmpty();
        // The trap is armed: reading the messages does touch the journal and fails.
        await FluentActions.Awaiting(async () => await store.GetMessagesAsync(sessions[0].Id)).Should().ThrowAsync<Exception>();
    }

    // ---- atomic writes and concurrency ----

    [Test]
    public async Task SaveSessionAsync_ReadersDuringManyLargeWrites_NeverSeeAHalfWrittenSession()
    {
        var store = Store();
        string id = AgentCoreIds.NewSessionId();
        const int writers = 4;
        const int writesEach = 12;
        const int payloadChars = 128 * 1024;
        using var writing = new CancellationTokenSource();
        var problems = new System.Collections.Concurrent.ConcurrentQueue<string>();

        SessionInfo Large(int writer, int write) => Session(T0) with
        {
            Id = id,
            Title = $"w{writer}-{write}",
            Metadata = new Dictionary<string, string>
            {
                ["writer"] = writer.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["payload"] = new string((char)('a' + writer), payloadChars),
            },
        };

        void Check(SessionInfo session)
        {
            string writer = session.Metadata["writer"];
            string payload = session.Metadata["payload"];
            if (payload.Length != payloadChars || payload.Any(c => c != (char)('a' + int.Parse(writer, System.Globalization.CultureInfo.InvariantCulture))) ||
                !session.Title.StartsWith($"w{writer}-", StringComparison.Ordinal))
            {
                problems.Enqueue($"inconsistent session: title {session.Title}, writer {writer}, payload length {payload.Length}");
            }
        }

        async Task<int> ReadUntilWritersAreDone()
        {
            int reads = 0;
            bool seen = false;
            do
            {
                var session = await store.GetSessionAsync(id);
                reads++;
                if (session is null)
                {
                    if (seen)
                    {
                        problems.Enqueue("the session vanished after it had been read");
                    }

                    continue;
                }

                seen = true;
                Check(session);
                await foreach (var listed in store.ListSessionsAsync())
                {
                    Check(listed);
                }
            }
            while (!writing.IsCancellationRequested);

            return reads;
        }

        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(ReadUntilWritersAreDone)).ToList();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < writesEach; i++)
            {
                await store.SaveSessionAsync(Large(w, i));
            }
        })));
        writing.Cancel();
        int[] reads = await Task.WhenAll(readers);

        problems.Should().BeEmpty();
        Logger.Warnings.Should().BeEmpty("a half-written file would have been logged as corrupt");
        reads.Should().OnlyContain(r => r > 0);
        Check((await store.GetSessionAsync(id))!);
        Directory.EnumerateFiles(Path.Combine(DataDirectory, "sessions")).Should().ContainSingle("no temporary file is left behind");
    }

    [Test]
    public async Task SaveMessageAsync_TwoInstancesOnOneDirectory_NoneLost()
    {
        var first = Store();
        var second = Store();
        string sessionId = AgentCoreIds.NewSessionId();

        await Task.WhenAll(
            Task.Run(() => ConcurrentWrites.WriteMessagesAsync(first, sessionId, 100, "first")),
            Task.Run(() => ConcurrentWrites.WriteMessagesAsync(second, sessionId, 100, "second")));

        var read = await Store().GetMessagesAsync(sessionId);
        read.Should().HaveCount(200);
        read.Where(m => m.ModelId == "first").Select(m => m.Text)
            .Should().Equal(Enumerable.Range(0, 100).Select(i => ConcurrentWrites.ExpectedText("first", i)));
        read.Where(m => m.ModelId == "second").Select(m => m.Text)
            .Should().Equal(Enumerable.Range(0, 100).Select(i => ConcurrentWrites.ExpectedText("second", i)));
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task SaveMessageAsync_SecondProcessWritesAtTheSameTime_NoTornOrLostWrites()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        const int count = 150;
        var store = Store();
        await using var worker = WorkerProcess.Start("messages", "file", DataDirectory, sessionId, count.ToString(System.Globalization.CultureInfo.InvariantCulture), "worker");
        (await worker.ReadLineAsync()).Should().Be("ready");

        await worker.WriteLineAsync("go");
        var writing = Task.Run(() => ConcurrentWrites.WriteMessagesAsync(store, sessionId, count, "test"));
        // Meanwhile read (and so compact) the journal both are appending to.
        while (!writing.IsCompleted)
        {
            await store.GetMessagesAsync(sessionId);
        }

        await writing;
        (await worker.WaitForExitAsync()).Should().Be(0, $"the worker must finish without an error or a logged warning; it wrote: {worker.Errors}");

        var read = await Store().GetMessagesAsync(sessionId);
        read.Should().HaveCount(2 * count);
        foreach (string label in new[] { "test", "worker" })
        {
            read.Where(m => m.ModelId == label).Select(m => m.Text)
                .Should().Equal(Enumerable.Range(0, count).Select(i => ConcurrentWrites.ExpectedText(label, i)));
        }

        read.Select(m => m.Id).Should().BeInAscendingOrder(StringComparer.Ordinal);
        Logger.Warnings.Should().BeEmpty();
    }

    // ---- journal compaction ----

    [Test]
    public async Task SaveAfterRead_JournalGrownWithAppends_CompactedByTheWriteWithNothingLost()
    {
        var store = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = EveryPartMessage(sessionId);
        var text = message.Parts.OfType<TextPart>().Single();
        await store.SaveMessageAsync(message);
        await store.SaveMessageAsync(UserMessage(sessionId, "later"));
        for (int i = 0; i < 200; i++)
        {
            string chunk = $" {i}";
            text.Text += chunk;
            await store.SavePartAsync(message, text, chunk);
        }

        File.ReadAllLines(Journal(sessionId)).Should().HaveCount(202);

        var read = await store.GetMessagesAsync(sessionId);

        File.ReadAllLines(Journal(sessionId)).Should().HaveCount(202, "a read never writes");
        read.Should().HaveCount(2);
        ShouldEqual(read[0], message);

        text.Text += "!";
        await store.SavePartAsync(message, text, "!");

        File.ReadAllLines(Journal(sessionId)).Should().HaveCount(3, "the write after the read rewrote the journal with one record per message, then appended");
        var again = await Store().GetMessagesAsync(sessionId);
        ShouldEqual(again[0], message);
        again[1].Text.Should().Be("later");
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task GetMessagesAsync_CompactingWhileAnotherTaskAppends_NothingLost()
    {
        var store = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "" };
        message.Parts.Add(text);
        await store.SaveMessageAsync(message);
        var expected = new StringBuilder();

        var appending = Task.Run(async () =>
        {
            for (int i = 0; i < 1000; i++)
            {
                string chunk = i + ",";
                expected.Append(chunk);
                text.Text += chunk;
                await store.SavePartAsync(message, text, chunk);
            }
        });
        int reads = 0;
        while (!appending.IsCompleted)
        {
            await store.GetMessagesAsync(sessionId);
            reads++;
        }

        await appending;

        var read = (await Store().GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        read.Text.Should().Be(expected.ToString());
        reads.Should().BePositive();
        Logger.Warnings.Should().BeEmpty();
    }

    // ---- file-store specifics: messages without a session file ----

    [Test]
    public async Task DeleteSessionAsync_OnlyMessagesStored_RemovesThem()
    {
        var store = CreateStore();
        string sessionId = AgentCoreIds.NewSessionId();
        await store.SaveMessageAsync(UserMessage(sessionId, "orphan"));

        (await store.DeleteSessionAsync(sessionId)).Should().BeTrue();

        (await store.GetMessagesAsync(sessionId)).Should().BeEmpty();
    }

    [Test]
    public async Task SavePartAsync_BeforeTheMessageWasSaved_CreatesIt()
    {
        var store = CreateStore();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);

        await store.SavePartAsync(message, message.Parts[0]);

        var read = (await store.GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        ShouldEqual(read, message);
    }
}
