using System.Text;
using System.Text.Json;
using AgentCore.Storage;

namespace AgentCore.Tests.Storage;

/// <summary>The one-pass session reader decides a record only as the serializer would, and leaves the rest to it.</summary>
public sealed class SessionJsonReaderTests
{
    private static readonly SessionInfo Full = new()
    {
        Id = AgentCoreIds.NewSessionId(),
        ParentId = AgentCoreIds.NewSessionId(),
        Title = "A title with \"quotes\", é and 🎉",
        CreatedAt = new DateTimeOffset(2026, 3, 1, 9, 30, 0, 123, TimeSpan.FromHours(2)),
        UpdatedAt = new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero).AddTicks(1234567),
        Tokens = new TokenUsage(10_000, 2_000, 30, 5_000, 100),
        Cost = 0.4200m,
        Metadata = new Dictionary<string, string> { ["owner"] = "ada", ["tenant"] = "t-1" },
        RevertedAfter = AgentCoreIds.NewMessageId(),
    };

    private static IEnumerable<TestCaseData> Records()
    {
        string id = Full.Id;
        string full = StoredRecords.SerializeSession(Full);
        yield return new TestCaseData(full, true).SetName("TryRead_FullSession_ReadAsTheSerializerReadsIt");
        yield return new TestCaseData(StoredRecords.SerializeSession(Full with { ParentId = null, Metadata = SessionInfo.EmptyMetadata, RevertedAfter = null }), true)
            .SetName("TryRead_PlainSession_ReadAsTheSerializerReadsIt");
        yield return new TestCaseData($$$"""{"id":"{{{id}}}","title":"t","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00+05:30"}""", true)
            .SetName("TryRead_OptionalPropertiesLeftOut_ReadAsTheSerializerLeavesThem");
        yield return new TestCaseData($$$""" {"t\u0069tle":"esc\u0061ped","id":"{{{id}}}","extra":[{"a":1}],"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","title":"last wins","tokens":{"input":1,"other":{},"input":2},"metadata":null,"parentId":null,"totalsCheckpoint":null} """, true)
            .SetName("TryRead_EscapesRepeatsUnknownsAndNulls_ReadAsTheSerializerReadsThem");
        yield return new TestCaseData($$$"""{"id":"{{{id}}}","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}""", false)
            .SetName("TryRead_RequiredTitleMissing_LeftToTheSerializer");
        yield return new TestCaseData($$$"""{"id":"{{{id}}}","title":"t","createdAt":"yesterday","updatedAt":"2026-01-01T00:00:00Z"}""", false)
            .SetName("TryRead_TimeNotATime_LeftToTheSerializer");
        yield return new TestCaseData($$$"""{"id":"{{{id}}}","title":"t","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","cost":"1"}""", false)
            .SetName("TryRead_CostAsText_LeftToTheSerializer");
        yield return new TestCaseData($$$"""{"id":"{{{id}}}","title":"t","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","tokens":{"input":1.5}}""", false)
            .SetName("TryRead_FractionalTokens_LeftToTheSerializer");
        yield return new TestCaseData($$$"""{"id":"{{{id}}}","title":"t","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","metadata":{"a":"1","a":"2"}}""", false)
            .SetName("TryRead_RepeatedMetadataKey_LeftToTheSerializer");
        yield return new TestCaseData($$$"""{"id":"{{{id}}}","title":"t","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","metadata":{"a":null}}""", false)
            .SetName("TryRead_NullMetadataValue_LeftToTheSerializer");
        yield return new TestCaseData($$$"""{"id":"{{{id}}}","title":"t","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","totalsCheckpoint":{"messageId":null}}""", false)
            .SetName("TryRead_TotalsCheckpoint_LeftToTheSerializer");
        yield return new TestCaseData(full + " x", false).SetName("TryRead_TrailingText_LeftToTheSerializer");
        yield return new TestCaseData(full[..(full.Length / 2)], false).SetName("TryRead_Truncated_LeftToTheSerializer");
        yield return new TestCaseData("null", false).SetName("TryRead_JsonNull_LeftToTheSerializer");
        yield return new TestCaseData("[1]", false).SetName("TryRead_Array_LeftToTheSerializer");
    }

    [TestCaseSource(nameof(Records))]
    public void TryRead(string json, bool decided)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(json);

        bool read = SessionJsonReader.TryRead(utf8, out var session);

        read.Should().Be(decided);
        if (read)
        {
            var expected = JsonSerializer.Deserialize(utf8, AgentCoreJsonContext.Default.SessionInfo)!;
            session.Should().BeEquivalentTo(expected, o => o.RespectingRuntimeTypes());
            session!.CreatedAt.Offset.Should().Be(expected.CreatedAt.Offset);
            session.UpdatedAt.Offset.Should().Be(expected.UpdatedAt.Offset);
            session.Cost.Scale.Should().Be(expected.Cost.Scale);
            (session.Metadata is null).Should().Be(expected.Metadata is null);
        }
    }

    [Test]
    public void ReadSession_FullSession_SameAsSaved()
    {
        var read = StoredRecords.ReadSession(Encoding.UTF8.GetBytes(StoredRecords.SerializeSession(Full)), Full.Id, out string? problem);

        problem.Should().BeNull();
        read.Should().BeEquivalentTo(Full);
    }
}
