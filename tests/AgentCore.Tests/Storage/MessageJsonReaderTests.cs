using System.Text;
using System.Text.Json;
using AgentCore.Storage;

namespace AgentCore.Tests.Storage;

/// <summary>The one-pass message and journal reader decides a record only as the serializer would, and leaves the rest to it.</summary>
public sealed class MessageJsonReaderTests
{
    private const string SessionId = "ses_01JBX0000000000000000000AA";
    private const string MessageId = "msg_01JBX0000000000000000000AA";
    private const string PartId = "prt_01JBX0000000000000000000AA";

    private static string Line(JournalRecord record) =>
        Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(record, AgentCoreJsonContext.Default.JournalRecord));

    private static string Message(string properties) =>
        $$"""{"id":"{{MessageId}}","sessionId":"{{SessionId}}","role":"assistant","createdAt":"2026-01-01T00:00:00Z"{{properties}}}""";

    private static IEnumerable<TestCaseData> Records()
    {
        var every = StoreTestData.EveryPartMessage(SessionId);
        yield return new TestCaseData(Line(new JournalRecord { Kind = JournalRecord.WholeMessage, Message = every }), true)
            .SetName("TryReadJournalRecord_WholeMessageWithEveryPart_ReadAsTheSerializerReadsIt");
        yield return new TestCaseData(Line(new JournalRecord { Kind = JournalRecord.WholeMessage, Message = StoreTestData.UserMessage(SessionId, "hi \"there\" ☃") }), true)
            .SetName("TryReadJournalRecord_UserMessage_ReadAsTheSerializerReadsIt");
        yield return new TestCaseData(Line(new JournalRecord { Kind = JournalRecord.OnePart, MessageId = MessageId, Part = every.Parts[5] }), true)
            .SetName("TryReadJournalRecord_ToolPartRecord_ReadAsTheSerializerReadsIt");
        yield return new TestCaseData(Line(new JournalRecord { Kind = JournalRecord.OnePart, Message = StoredRecords.HeaderOf(every), Part = every.Parts[^1] }), true)
            .SetName("TryReadJournalRecord_PartWithHeader_ReadAsTheSerializerReadsIt");
        yield return new TestCaseData(Line(new JournalRecord { Kind = JournalRecord.AppendedText, MessageId = MessageId, PartId = PartId, Text = "more\n" }), true)
            .SetName("TryReadJournalRecord_AppendedText_ReadAsTheSerializerReadsIt");
        yield return new TestCaseData(Line(new JournalRecord { Kind = JournalRecord.Delta, Message = every, PartIds = every.Parts.Select(p => p.Id).ToList() }), true)
            .SetName("TryReadJournalRecord_Delta_ReadAsTheSerializerReadsIt");
        yield return new TestCaseData(
            $$$""" {"k":"m","extra":{"a":[1]},"m":{{{Message($$""","parts":[{"type":"text","id":"{{PartId}}","text":"first","text":"l\u0061st","other":null}],"completedAt":null,"providerId":null,"error":null,"role":"user","tokens":{"input":1,"x":{},"input":2},"cost":0.0100,"unknown":[{}]""")}}}} """, true)
            .SetName("TryReadJournalRecord_EscapesRepeatsUnknownsAndNulls_ReadAsTheSerializerReadsThem");
        yield return new TestCaseData($$"""{"k":"m","m":{{Message(",\"parts\":[]")}}}""", true)
            .SetName("TryReadJournalRecord_NoParts_ReadAsTheSerializerReadsIt");
        yield return new TestCaseData($$"""{"k":"m","m":{{Message($$""","parts":[{"id":"{{PartId}}","type":"text","text":"t"}]""")}}}""", false)
            .SetName("TryReadJournalRecord_PartTypeNotFirst_LeftToTheSerializer");
        yield return new TestCaseData($$"""{"k":"m","m":{{Message($$""","parts":[{"type":"text","id":"{{PartId}}","$x":1,"text":"t"}]""")}}}""", false)
            .SetName("TryReadJournalRecord_PartPropertyLikeMetadata_LeftToTheSerializer");
        yield return new TestCaseData($$"""{"k":"m","m":{{Message($$""","parts":[{"type":"text","id":"{{PartId}}","\u0024x":1,"text":"t"}]""")}}}""", false)
            .SetName("TryReadJournalRecord_PartPropertyNameEscaped_LeftToTheSerializer");
        yield return new TestCaseData($$"""{"k":"m","m":{{Message($$""","parts":[{"type":"text","id":"{{PartId}}","text":null}]""")}}}""", false)
            .SetName("TryReadJournalRecord_NullText_LeftToTheSerializer");
        yield return new TestCaseData($$"""{"k":"m","m":{{Message($$""","parts":[{"type":"text","text":"t"}]""")}}}""", false)
            .SetName("TryReadJournalRecord_PartIdMissing_LeftToTheSerializer");
        yield return new TestCaseData($$"""{"k":"m","m":{{Message($$""","parts":[{"type":"step-start","id":"{{PartId}}","startedAt":null}]""")}}}""", false)
            .SetName("TryReadJournalRecord_NullStepTime_LeftToTheSerializer");
        yield return new TestCaseData($$"""{"k":"m","m":{{Message(",\"parts\":null")}}}""", false)
            .SetName("TryReadJournalRecord_NullParts_LeftToTheSerializer");
        yield return new TestCaseData($$"""{"k":"m","m":{{Message(",\"role\":\"critic\"")}}}""", false)
            .SetName("TryReadJournalRecord_CustomRole_LeftToTheSerializer");
        yield return new TestCaseData($$$"""{"k":"m","m":{"id":"{{{MessageId}}}","sessionId":"{{{SessionId}}}","role":"user"}}""", false)
            .SetName("TryReadJournalRecord_CreationTimeMissing_LeftToTheSerializer");
        yield return new TestCaseData($$"""{"k":"m","m":{{Message(",\"tokens\":{\"input\":1.5}")}}}""", false)
            .SetName("TryReadJournalRecord_FractionalTokens_LeftToTheSerializer");
        yield return new TestCaseData($$"""{"k":"m","m":{{Message(",\"isSummary\":null")}}}""", false)
            .SetName("TryReadJournalRecord_NullFlag_LeftToTheSerializer");
        yield return new TestCaseData($$"""{"k":"x","mid":"{{MessageId}}"}""", false).SetName("TryReadJournalRecord_UnknownKind_LeftToTheSerializer");
        yield return new TestCaseData($$"""{"k":"d","m":{{Message("")}},"ids":["{{PartId}}",null]}""", false)
            .SetName("TryReadJournalRecord_NullPartId_LeftToTheSerializer");
        string whole = Line(new JournalRecord { Kind = JournalRecord.WholeMessage, Message = every });
        yield return new TestCaseData(whole + " x", false).SetName("TryReadJournalRecord_TrailingText_LeftToTheSerializer");
        yield return new TestCaseData(whole[..(whole.Length / 2)], false).SetName("TryReadJournalRecord_Truncated_LeftToTheSerializer");
        yield return new TestCaseData("null", false).SetName("TryReadJournalRecord_JsonNull_LeftToTheSerializer");
    }

    [TestCaseSource(nameof(Records))]
    public void TryReadJournalRecord(string json, bool decided)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(json);

        bool read = new MessageJsonReader(SessionId).TryReadJournalRecord(utf8, out var record);

        read.Should().Be(decided);
        if (read)
        {
            // Written back, what the one-pass reader read is byte for byte what the serializer read (offsets, decimal scales, parts).
            var expected = JsonSerializer.Deserialize(utf8, AgentCoreJsonContext.Default.JournalRecord)!;
            Line(record!).Should().Be(Line(expected));
            record!.Message?.Parts.Select(p => p.GetType()).Should().Equal(expected.Message!.Parts.Select(p => p.GetType()));
        }
    }

    [Test]
    public void TryReadJournalRecord_KnownSession_SharesTheSessionIdString()
    {
        string sessionId = new(SessionId.AsSpan());
        byte[] utf8 = Encoding.UTF8.GetBytes(Line(new JournalRecord { Kind = JournalRecord.WholeMessage, Message = StoreTestData.UserMessage(SessionId, "hi") }));

        new MessageJsonReader(sessionId).TryReadJournalRecord(utf8, out var record).Should().BeTrue();

        record!.Message!.SessionId.Should().BeSameAs(sessionId);
    }

    [Test]
    public void ReadPart_EveryPartType_SameAsSaved()
    {
        var every = StoreTestData.EveryPartMessage(SessionId);

        var read = every.Parts.Select(p => StoredRecords.ReadPart(StoredRecords.SerializePart(p), p.Id, out _)).ToList();

        StoreTestData.ShouldEqual(new SessionMessage { Id = every.Id, SessionId = SessionId, Role = every.Role, CreatedAt = every.CreatedAt, Parts = read! },
            new SessionMessage { Id = every.Id, SessionId = SessionId, Role = every.Role, CreatedAt = every.CreatedAt, Parts = every.Parts });
    }

    [Test]
    public void ReadPart_TypeNotFirst_TheSerializersProblem()
    {
        byte[] utf8 = Encoding.UTF8.GetBytes($$"""{"id":"{{PartId}}","type":"text","text":"t"}""");

        var part = StoredRecords.ReadPart(utf8, PartId, out string? problem);

        part.Should().BeNull();
        problem.Should().NotBeNull();
    }
}
