using System.Text;

namespace AgentCore.Tests.Sessions;

[TestFixture]
public sealed class SessionQueryTests
{
    private static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 7, 8, 9, 10, 11, TimeSpan.Zero).AddTicks(7);

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(SessionQuery.MaxPageSize + 1)]
    public void PageSize_OutOfRange_ThrowsArgumentOutOfRangeNamingTheValue(int pageSize)
    {
        var thrown = FluentActions.Invoking(() => new SessionQuery { PageSize = pageSize }).Should().Throw<ArgumentOutOfRangeException>().Which;

        thrown.ParamName.Should().Be("PageSize");
        thrown.ActualValue.Should().Be(pageSize);
        thrown.Message.Should().Contain(pageSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [TestCase("")]
    [TestCase("msg_abc")]
    [TestCase("ses_../../etc")]
    [TestCase("ses_a b")]
    public void ParentId_Malformed_ThrowsArgumentExceptionNamingIt(string parentId)
    {
        var thrown = FluentActions.Invoking(() => new SessionQuery { ParentId = parentId }).Should().Throw<ArgumentException>().Which;

        thrown.ParamName.Should().Be("ParentId");
        if (parentId.Length > 0)
        {
            thrown.Message.Should().Contain(parentId);
        }
    }

    private static IEnumerable<string> BadCursors()
    {
        string good = new SessionCursor(T0, "ses_abc").ToString();
        yield return "";
        yield return "not a cursor";
        yield return "!!!!";
        yield return good[..^3];                                                        // truncated
        yield return good + "A";                                                        // one character too many
        yield return Convert.ToBase64String(Encoding.ASCII.GetBytes("0123456789ses_abc")); // not ours: wrong version byte
        yield return System.Buffers.Text.Base64Url.EncodeToString([1, 0, 0, 0, 0, 0, 0, 0, 0, .. Encoding.ASCII.GetBytes("ses_../x")]); // bad id
        yield return System.Buffers.Text.Base64Url.EncodeToString([1, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, .. Encoding.ASCII.GetBytes("ses_abc")]); // time out of range
        yield return new string('A', 4000);                                             // huge
    }

    [TestCaseSource(nameof(BadCursors))]
    public void Cursor_NotOneAgentCoreWrote_ThrowsArgumentExceptionNamingIt(string cursor)
    {
        var thrown = FluentActions.Invoking(() => new SessionQuery { Cursor = cursor }).Should().Throw<ArgumentException>().Which;

        thrown.ParamName.Should().Be("Cursor");
        thrown.Message.Should().Contain($"'{(cursor.Length > 80 ? cursor[..80] + "…" : cursor)}'");
    }

    [Test]
    public void Cursor_WrittenForASession_ReadsBackItsCreationTimeAndIdAndIsUrlSafe()
    {
        var session = new SessionInfo { Id = "ses_Zz-_09", Title = "t", CreatedAt = T0.ToOffset(TimeSpan.FromHours(2)), UpdatedAt = T0 };

        string cursor = SessionCursor.After(session).ToString();
        var query = new SessionQuery { Cursor = cursor };

        query.After.Should().Be(new SessionCursor(T0, session.Id));
        query.After!.CreatedAt.UtcTicks.Should().Be(T0.UtcTicks);
        cursor.Should().MatchRegex("^[A-Za-z0-9_-]+$");
        SessionCursor.Parse(cursor).Should().Be(query.After);
    }

    [Test]
    public void Precedes_SameTimeOrEarlier_OrdersAsTheListing()
    {
        var cursor = new SessionCursor(T0, "ses_m");

        cursor.Precedes(Session("ses_a", T0)).Should().BeTrue("a smaller id at the same time comes later in the listing");
        cursor.Precedes(Session("ses_z", T0)).Should().BeFalse();
        cursor.Precedes(Session("ses_m", T0)).Should().BeFalse("the cursor's own session was on the page before");
        cursor.Precedes(Session("ses_z", T0.AddTicks(-1))).Should().BeTrue();
        cursor.Precedes(Session("ses_a", T0.AddTicks(1))).Should().BeFalse();
    }

    [Test]
    public void Metadata_EmptyKeyOrNullValue_ThrowsArgumentException()
    {
        FluentActions.Invoking(() => new SessionQuery { Metadata = new Dictionary<string, string> { [""] = "x" } })
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("Metadata");
        FluentActions.Invoking(() => new SessionQuery { Metadata = new Dictionary<string, string> { ["owner"] = null! } })
            .Should().Throw<ArgumentException>().WithMessage("*owner*");
        FluentActions.Invoking(() => new SessionQuery { Metadata = null! }).Should().Throw<ArgumentNullException>();
    }

    [Test]
    public void Metadata_SourceChangedAfterwards_QueryKeepsItsCopy()
    {
        var filter = new Dictionary<string, string> { ["owner"] = "ada" };
        var query = new SessionQuery { Metadata = filter };

        filter["owner"] = "grace";

        query.Metadata.Should().Equal(new Dictionary<string, string> { ["owner"] = "ada" });
    }

    [Test]
    public void Matches_EachFilter_AsDocumented()
    {
        var session = Session("ses_a", T0) with
        {
            ParentId = "ses_p",
            UpdatedAt = T0.AddHours(1),
            Metadata = new Dictionary<string, string> { ["owner"] = "ada", ["tenant"] = "acme" },
        };

        new SessionQuery().Matches(session).Should().BeTrue();
        new SessionQuery { Metadata = new Dictionary<string, string> { ["owner"] = "ada", ["tenant"] = "acme" } }.Matches(session).Should().BeTrue();
        new SessionQuery { Metadata = new Dictionary<string, string> { ["owner"] = "Ada" } }.Matches(session).Should().BeFalse();
        new SessionQuery { Metadata = new Dictionary<string, string> { ["team"] = "ada" } }.Matches(session).Should().BeFalse();
        new SessionQuery { ParentId = "ses_p" }.Matches(session).Should().BeTrue();
        new SessionQuery { ParentId = "ses_q" }.Matches(session).Should().BeFalse();
        new SessionQuery { UpdatedAfter = T0.AddHours(1) }.Matches(session).Should().BeFalse("the bound is exclusive");
        new SessionQuery { UpdatedAfter = T0.AddHours(1).AddTicks(-1) }.Matches(session).Should().BeTrue();
        new SessionQuery { UpdatedBefore = T0.AddHours(1) }.Matches(session).Should().BeFalse("the bound is exclusive");
        new SessionQuery { UpdatedBefore = T0.AddHours(1).AddTicks(1) }.Matches(session).Should().BeTrue();
    }

    private static SessionInfo Session(string id, DateTimeOffset createdAt) => new() { Id = id, Title = "t", CreatedAt = createdAt, UpdatedAt = createdAt };
}
