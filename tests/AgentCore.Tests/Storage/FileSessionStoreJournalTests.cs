
using static AgentCore.Tests.Storage.StoreTestData;

namespace AgentCore.Tests.Storage;

/// <summary>The message journal's part records: the message's own fields written only when they changed.</summary>
[TestFixture]
public sealed class FileSessionStoreJournalTests : FileStoreTestBase
{
    private static TextPart Text(string text) => new() { Id = AgentCoreIds.NewPartId(), Text = text };

    [Test]
    public async Task SavePartAsync_FieldsUnchanged_PartRecordsOmitThemAndReadBackAfterRestart()
    {
        var store = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        await store.SaveMessageAsync(message);

        for (int i = 0; i < 3; i++)
        {
            var part = Text("part " + i);
            message.Parts.Add(part);
            await store.SavePartAsync(message, part);
        }

        string[] lines = await File.ReadAllLinesAsync(Journal(sessionId));
        lines.Should().HaveCount(4);
        lines.Skip(1).Should().OnlyContain(l => !l.Contains("\"m\":", StringComparison.Ordinal) && l.Contains("\"mid\":", StringComparison.Ordinal),
            "a part record of a message whose fields did not change carries its id, not its fields");

        var read = (await Store().GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        ShouldEqual(read, message);
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task SavePartAsync_FieldsChangedBetweenParts_ReadBackWithTheNewFields()
    {
        var store = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        await store.SavePartAsync(message, message.Parts[0]);
        var part = Text("hello");
        message.Parts.Add(part);
        await store.SavePartAsync(message, part);

        message.Tokens = new TokenUsage(Input: 10, Output: 5, Reasoning: 0, CacheRead: 0, CacheWrite: 0);
        message.Cost = 0.5m;
        var second = Text("world");
        message.Parts.Add(second);
        await store.SavePartAsync(message, second);
        part.Text = "hello again";
        await store.SavePartAsync(message, part);

        var read = (await Store().GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        ShouldEqual(read, message);
    }

    [Test]
    public async Task SavePartAsync_AfterTheSessionWasDeleted_RecreatesTheMessageWithItsFields()
    {
        var store = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        await store.SavePartAsync(message, message.Parts[0]);
        await store.DeleteSessionAsync(sessionId);

        var part = Text("after the delete");
        message.Parts.Add(part);
        await store.SavePartAsync(message, part);

        var read = (await Store().GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        read.Id.Should().Be(message.Id);
        read.ModelId.Should().Be(message.ModelId);
        read.Parts.Should().ContainSingle().Which.Id.Should().Be(part.Id);
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task SavePartAsync_FirstRecordFailed_NextRecordCarriesTheFields()
    {
        var store = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        Directory.CreateDirectory(Journal(sessionId)); // the journal cannot be written: a folder is in its place

        var failed = async () => await store.SavePartAsync(message, message.Parts[0]);
        await failed.Should().ThrowAsync<Exception>();

        Directory.Delete(Journal(sessionId));
        var part = Text("after the failure");
        message.Parts.Add(part);
        await store.SavePartAsync(message, part);

        var read = (await Store().GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        read.Id.Should().Be(message.Id);
        read.Parts.Select(p => p.Id).Should().Equal(part.Id);
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task GetMessagesAsync_PartRecordTornByACrash_SkippedAndTheNextRecordKept()
    {
        var store = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        await store.SaveMessageAsync(message);
        var torn = Text("torn");
        message.Parts.Add(torn);
        await store.SavePartAsync(message, torn);

        // The process died in the middle of writing the part record.
        byte[] content = await File.ReadAllBytesAsync(Journal(sessionId));
        int lastLineStart = Array.LastIndexOf(content, (byte)'\n', content.Length - 2) + 1;
        await File.WriteAllBytesAsync(Journal(sessionId), content[..(lastLineStart + ((content.Length - lastLineStart) / 2))]);
        (await Store().GetMessagesAsync(sessionId)).Should().ContainSingle().Which.Parts.Should().ContainSingle("the torn record is not there yet");

        var restarted = Store();
        message.Parts.Remove(torn);
        var next = Text("after the restart");
        message.Parts.Add(next);
        await restarted.SavePartAsync(message, next);

        var read = (await Store().GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        ShouldEqual(read, message);
        Logger.Warnings.Should().ContainSingle("the torn record is now a corrupt line of its own");
    }

    [Test]
    public async Task SaveMessageAsync_CompletingAMessageWrittenPartByPart_WritesOnlyWhatChangedAndReadsBackWhole()
    {
        var store = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        await store.SaveMessageAsync(message);
        var kept = Text(new string('k', 2000));
        var changed = Text("before");
        var dropped = Text("dropped");
        foreach (var part in new[] { kept, changed, dropped })
        {
            message.Parts.Add(part);
            await store.SavePartAsync(message, part);
        }

        changed.Text = "after";
        var added = Text("added");
        message.Parts.Remove(dropped);
        message.Parts.Add(added);
        message.CompletedAt = T0.AddSeconds(5);
        message.FinishReason = "stop";
        await store.SaveMessageAsync(message);

        string last = (await File.ReadAllLinesAsync(Journal(sessionId)))[^1];
        last.Should().StartWith("{\"k\":\"d\"", "a message written part by part is completed with a delta");
        last.Should().NotContain(kept.Text, "an unchanged part is not written again").And.Contain("after").And.Contain("added");
        var read = (await Store().GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        ShouldEqual(read, message);
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task SaveMessageAsync_AnotherWriterAppendedSince_WritesTheWholeMessage()
    {
        var store = Store();
        var other = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        await store.SaveMessageAsync(message);
        var part = Text("mine");
        message.Parts.Add(part);
        await store.SavePartAsync(message, part);
        await other.SaveMessageAsync(UserMessage(sessionId, "from another writer"));

        message.CompletedAt = T0.AddSeconds(5);
        await store.SaveMessageAsync(message);

        (await File.ReadAllLinesAsync(Journal(sessionId)))[^1].Should().StartWith("{\"k\":\"m\"", "the journal is not as this store left it");
        var read = await Store().GetMessagesAsync(sessionId);
        read.Should().HaveCount(2);
        ShouldEqual(read.Single(m => m.Id == message.Id), message);
    }

    [Test]
    public async Task SavePartAsync_AnotherWriterAppendedSince_RecordCarriesTheFields()
    {
        var store = Store();
        var other = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        await store.SaveMessageAsync(message);
        await other.SaveMessageAsync(UserMessage(sessionId, "from another writer"));

        var part = Text("mine");
        message.Parts.Add(part);
        await store.SavePartAsync(message, part);

        (await File.ReadAllLinesAsync(Journal(sessionId)))[^1].Should().Contain("\"m\":{", "the journal is not as this store left it");
        ShouldEqual((await Store().GetMessagesAsync(sessionId)).Single(m => m.Id == message.Id), message);
    }

    [Test]
    public async Task GetMessagesAsync_DeltaForAMessageNotThere_SkippedWithWarning()
    {
        var store = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        await store.SaveMessageAsync(message);
        message.CompletedAt = T0.AddSeconds(1);
        await store.SaveMessageAsync(message);
        string delta = (await File.ReadAllLinesAsync(Journal(sessionId)))[^1];
        delta.Should().StartWith("{\"k\":\"d\"");

        string otherSession = AgentCoreIds.NewSessionId();
        Directory.CreateDirectory(Path.GetDirectoryName(Journal(otherSession))!);
        await File.WriteAllTextAsync(Journal(otherSession), delta.Replace(sessionId, otherSession, StringComparison.Ordinal) + "\n");

        (await store.GetMessagesAsync(otherSession)).Should().BeEmpty();
        Logger.Warnings.Should().ContainSingle().Which.Message.Should().Contain("not there");
    }

    [Test]
    public async Task SavePartAsync_AnotherWriterTornARecordSinceThisStoresLast_NewRecordOnALineOfItsOwn()
    {
        var store = Store();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        await store.SaveMessageAsync(message);
        await File.AppendAllTextAsync(Journal(sessionId), "{\"k\":\"p\",\"mid\":"); // another process died mid-record

        var part = Text("after the torn record");
        message.Parts.Add(part);
        await store.SavePartAsync(message, part);

        var read = (await Store().GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        ShouldEqual(read, message);
        Logger.Warnings.Should().ContainSingle("the torn record is a corrupt line of its own");
    }

    /// <summary>A new session's assistant message holding one text part, "streamed", saved whole to <paramref name="store"/>.</summary>
    private static async Task<(string SessionId, SessionMessage Message, TextPart Streamed)> StoredStreamingMessageAsync(FileSessionStore store)
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        var streamed = Text("streamed");
        message.Parts.Add(streamed);
        await store.SaveMessageAsync(message);
        return (sessionId, message, streamed);
    }

    /// <summary>A step's worth of changes to <paramref name="message"/>: text appended, its fields changed, a tool call running.</summary>
    private static List<MessagePartChange> StepOfChanges(SessionMessage message, TextPart streamed)
    {
        streamed.Text += " more";
        message.Tokens = new TokenUsage(Input: 12, Output: 7, Reasoning: 0, CacheRead: 0, CacheWrite: 0);
        var tool = new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "call_1", ToolName = "count", State = ToolState.Running, StartedAt = T0 };
        var after = Text("after the tool");
        message.Parts.Add(tool);
        message.Parts.Add(after);
        return [new MessagePartChange(streamed, " more"), new MessagePartChange(tool), new MessagePartChange(after)];
    }

    [Test]
    public async Task SavePartsAsync_StepOfChanges_OneRecordEachFieldsOnlyInTheFirstAndReadsBackEqual()
    {
        var store = Store();
        var (sessionId, message, streamed) = await StoredStreamingMessageAsync(store);

        await store.SavePartsAsync(message, StepOfChanges(message, streamed));

        string[] lines = await File.ReadAllLinesAsync(Journal(sessionId));
        lines.Should().HaveCount(4);
        lines[1].Should().StartWith("{\"k\":\"t\"").And.Contain("\"m\":{", "the message's fields changed: the first record carries them");
        lines.Skip(2).Should().OnlyContain(l => l.StartsWith("{\"k\":\"p\"", StringComparison.Ordinal) && !l.Contains("\"m\":", StringComparison.Ordinal));
        ShouldEqual((await Store().GetMessagesAsync(sessionId)).Should().ContainSingle().Subject, message);
        Logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task GetMessagesAsync_BatchTornInTheMiddle_ReadsTheRecordsBeforeTheCut()
    {
        var store = Store();
        var (sessionId, message, streamed) = await StoredStreamingMessageAsync(store);
        long before = new FileInfo(Journal(sessionId)).Length;
        await store.SavePartsAsync(message, StepOfChanges(message, streamed));

        // The process died in the middle of the batch's write: in its second record.
        byte[] content = await File.ReadAllBytesAsync(Journal(sessionId));
        int secondRecord = Array.IndexOf(content, (byte)'\n', (int)before) + 1;
        int third = Array.IndexOf(content, (byte)'\n', secondRecord) + 1;
        await File.WriteAllBytesAsync(Journal(sessionId), content[..((secondRecord + third) / 2)]);

        var read = (await Store().GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        read.Parts.Should().HaveCount(2, "the tool call and the part after it were cut off");
        read.Parts[1].Should().BeOfType<TextPart>().Which.Text.Should().Be("streamed more", "the first record of the batch is whole");
        read.Tokens.Should().Be(message.Tokens, "the first record carried the message's new fields");
        Logger.Warnings.Should().BeEmpty("an unterminated last line is not there yet");
    }

    [Test]
    public async Task SavePartsAsync_AnotherWriterAppendedSince_FirstRecordCarriesTheFields()
    {
        var store = Store();
        var (sessionId, message, streamed) = await StoredStreamingMessageAsync(store);
        await store.SavePartsAsync(message, StepOfChanges(message, streamed));
        await Store().SaveMessageAsync(UserMessage(sessionId, "from another writer"));

        var tool = (ToolPart)message.Parts[^2];
        tool.State = ToolState.Completed;
        tool.Output = "10";
        var last = Text("done");
        message.Parts.Add(last);
        await store.SavePartsAsync(message, [new MessagePartChange(tool), new MessagePartChange(last)]);

        string[] lines = await File.ReadAllLinesAsync(Journal(sessionId));
        lines[^2].Should().Contain("\"m\":{", "the journal is not as this store left it: the fields it left out may not be there");
        lines[^1].Should().NotContain("\"m\":");
        ShouldEqual((await Store().GetMessagesAsync(sessionId)).Single(m => m.Id == message.Id), message);
    }
}
