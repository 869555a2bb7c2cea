using System.Globalization;

namespace AgentCore.Tests.Sessions;

public sealed class IdentifierTests
{
    [Test]
    public void Create_ManyInOneProcess_StrictlyIncreasing()
    {
        string previous = Identifier.Create(IdKind.Message);
        for (int i = 0; i < 100_000; i++)
        {
            string next = Identifier.Create(IdKind.Message);
            string.CompareOrdinal(next, previous).Should().BePositive();
            previous = next;
        }
    }

    [Test]
    public void Create_AMillionFromSeveralThreads_NoDuplicatesAndEachThreadAscending()
    {
        const int threads = 8;
        const int perThread = 125_000;
        var ids = new string[threads * perThread];
        int outOfOrder = 0;

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, thread =>
        {
            string? previous = null;
            for (int i = 0; i < perThread; i++)
            {
                string id = Identifier.Create(IdKind.Part);
                if (previous is not null && string.CompareOrdinal(id, previous) <= 0)
                {
                    Interlocked.Increment(ref outOfOrder);
                }

                ids[thread * perThread + i] = id;
                previous = id;
            }
        });

        outOfOrder.Should().Be(0);
        ids.Should().OnlyContain(id => id != null);
        new HashSet<string>(ids, StringComparer.Ordinal).Count.Should().Be(ids.Length);
    }

    [Test]
    public void Create_ClockGoesBackwards_StillIncreasing()
    {
        var now = TimeProvider.System.GetUtcNow();
        string first = Identifier.Create(IdKind.Session, new FixedClock(now));
        string second = Identifier.Create(IdKind.Session, new FixedClock(now - TimeSpan.FromHours(1)));

        string.CompareOrdinal(second, first).Should().BePositive();
    }

    [Test]
    public void Create_Always_EncodesTheCreationTime()
    {
        long before = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        string id = Identifier.Create(IdKind.Message);
        long after = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();

        long value = long.Parse(id.AsSpan(4, 14), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        long milliseconds = value >> 12;
        // Never earlier than the clock; later only by what earlier tests borrowed from future milliseconds.
        milliseconds.Should().BeGreaterThanOrEqualTo(before);
        milliseconds.Should().BeLessThan(after + 60_000);
    }

    [TestCase("Session", "ses_")]
    [TestCase("Message", "msg_")]
    [TestCase("Part", "prt_")]
    public void Create_EachKind_HasItsPrefixAndIsValid(string kindName, string prefix)
    {
        var kind = Enum.Parse<IdKind>(kindName);
        string id = Identifier.Create(kind);

        id.Should().StartWith(prefix).And.HaveLength(prefix.Length + 26);
        Identifier.IsValid(id, kind).Should().BeTrue();
        id[prefix.Length..].Should().MatchRegex("^[0-9a-z]+$");
    }

    [TestCase("Session", "msg_00000000000000abcdefghijkl")]
    [TestCase("Message", "ses_00000000000000abcdefghijkl")]
    [TestCase("Part", "msg_00000000000000abcdefghijkl")]
    public void IsValid_AnotherKindsPrefix_False(string kindName, string id) =>
        Identifier.IsValid(id, Enum.Parse<IdKind>(kindName)).Should().BeFalse();

    public static IEnumerable<TestCaseData> BadSessionIds()
    {
        yield return new TestCaseData("../../etc/passwd").SetName("IsValid_PathTraversal_False");
        yield return new TestCaseData("ses_../../etc/passwd").SetName("IsValid_PrefixedPathTraversal_False");
        yield return new TestCaseData("/etc/passwd").SetName("IsValid_AbsoluteUnixPath_False");
        yield return new TestCaseData("ses_/etc/passwd").SetName("IsValid_PrefixedAbsolutePath_False");
        yield return new TestCaseData(@"C:\Windows\system32").SetName("IsValid_AbsoluteWindowsPath_False");
        yield return new TestCaseData(@"ses_..\..\x").SetName("IsValid_BackslashTraversal_False");
        yield return new TestCaseData("").SetName("IsValid_Empty_False");
        yield return new TestCaseData("ses_").SetName("IsValid_PrefixOnly_False");
        yield return new TestCaseData("ses_" + new string('a', 61)).SetName("IsValid_65Characters_False");
        yield return new TestCaseData("SES_abc").SetName("IsValid_UpperCasePrefix_False");
        yield return new TestCaseData("ses_a b").SetName("IsValid_Space_False");
        yield return new TestCaseData("ses_a\0b").SetName("IsValid_NulCharacter_False");
        yield return new TestCaseData("ses_ab.json").SetName("IsValid_Dot_False");
        yield return new TestCaseData("ses_é").SetName("IsValid_NonAscii_False");
    }

    [TestCaseSource(nameof(BadSessionIds))]
    public void IsValid_BadId(string id) => Identifier.IsValid(id, IdKind.Session).Should().BeFalse();

    [TestCase("ses_a")]
    [TestCase("ses_AZaz09_-")]
    [TestCase("ses_" + "012345678901234567890123456789012345678901234567890123456789")] // 64 characters
    public void IsValid_WellFormed_True(string id) => Identifier.IsValid(id, IdKind.Session).Should().BeTrue();

    [TestCaseSource(nameof(BadSessionIds))]
    public void Validate_BadId_ArgumentExceptionNamingTheValue(string id)
    {
        var act = () => Identifier.Validate(id, IdKind.Session, "sessionId");

        var thrown = act.Should().Throw<ArgumentException>().Which;
        thrown.ParamName.Should().Be("sessionId");
        // Control characters are printed as '?' so a log line stays one line.
        thrown.Message.Should().Contain($"'{id.Replace('\0', '?')}'");
    }

    [Test]
    public void Validate_Null_ArgumentNullException() =>
        FluentActions.Invoking(() => Identifier.Validate(null, IdKind.Session, "sessionId"))
            .Should().Throw<ArgumentNullException>().WithParameterName("sessionId");

    [Test]
    public void Validate_VeryLongId_MessageShowsItsStart()
    {
        string id = "ses_" + new string('x', 10_000);

        var thrown = FluentActions.Invoking(() => Identifier.Validate(id, IdKind.Session, "sessionId"))
            .Should().Throw<ArgumentException>().Which;

        thrown.Message.Should().Contain(id[..80]);
        thrown.Message.Length.Should().BeLessThan(400);
    }

    [Test]
    public void AgentCoreIds_NewIds_AreValidForTheirKindOnly()
    {
        string session = AgentCoreIds.NewSessionId();
        string message = AgentCoreIds.NewMessageId();
        string part = AgentCoreIds.NewPartId();

        AgentCoreIds.IsValidSessionId(session).Should().BeTrue();
        AgentCoreIds.IsValidMessageId(message).Should().BeTrue();
        AgentCoreIds.IsValidPartId(part).Should().BeTrue();
        AgentCoreIds.IsValidSessionId(message).Should().BeFalse();
        AgentCoreIds.IsValidMessageId(part).Should().BeFalse();
        AgentCoreIds.IsValidPartId(session).Should().BeFalse();
        AgentCoreIds.IsValidSessionId(null).Should().BeFalse();
    }

    [Test]
    public void AgentCoreIds_NewMessageIds_Ascending()
    {
        string first = AgentCoreIds.NewMessageId();
        string second = AgentCoreIds.NewMessageId();

        string.CompareOrdinal(second, first).Should().BePositive();
    }

    [Test]
    public void AgentCoreIds_ThrowIfInvalidSessionId_NamesTheCallersArgument()
    {
        string requestedSession = "../../etc/passwd";

        var thrown = FluentActions.Invoking(() => AgentCoreIds.ThrowIfInvalidSessionId(requestedSession))
            .Should().Throw<ArgumentException>().Which;

        thrown.ParamName.Should().Be(nameof(requestedSession));
        thrown.Message.Should().Contain("'../../etc/passwd'");
    }

    [Test]
    public void AgentCoreIds_ThrowIfInvalidMessageAndPartId_RejectOtherPrefixes()
    {
        string session = AgentCoreIds.NewSessionId();

        FluentActions.Invoking(() => AgentCoreIds.ThrowIfInvalidMessageId(session)).Should().Throw<ArgumentException>()
            .WithParameterName(nameof(session)).Which.Message.Should().Contain(session);
        FluentActions.Invoking(() => AgentCoreIds.ThrowIfInvalidPartId(session)).Should().Throw<ArgumentException>()
            .WithParameterName(nameof(session));
        FluentActions.Invoking(() => AgentCoreIds.ThrowIfInvalidPartId(AgentCoreIds.NewPartId())).Should().NotThrow();
        FluentActions.Invoking(() => AgentCoreIds.ThrowIfInvalidMessageId(AgentCoreIds.NewMessageId())).Should().NotThrow();
        FluentActions.Invoking(() => AgentCoreIds.ThrowIfInvalidSessionId(session)).Should().NotThrow();
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
