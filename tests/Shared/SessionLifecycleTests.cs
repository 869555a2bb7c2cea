using System.Text;
using System.Text.Json;
using AgentCore.Testing;
using FluentAssertions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;

namespace AgentCore.TestInfrastructure;

/// <summary>
/// Fork, revert, export/import and purge through <see cref="ISessionService"/> over one store: each store's test project
/// derives a fixture that creates its store. The export tests compare every store's export with one committed file
/// (<c>session-export.v1.json</c>), so a session moves exactly between any two stores.
/// </summary>
public abstract partial class SessionLifecycleTests
{
    private static readonly ModelPricing Pricing = new(InputPerMillion: 3m, OutputPerMillion: 15m, CacheReadPerMillion: 0.3m, CacheWritePerMillion: 3.75m);
    private readonly List<LifecycleHarness> _harnesses = [];

    /// <summary>A new, empty store. May be called more than once in a test (an import into a second store).</summary>
    protected abstract ISessionStore CreateStore();

    /// <summary>Removes what the stores made; called after each test, once the stores are disposed.</summary>
    protected virtual ValueTask CleanUpAsync() => ValueTask.CompletedTask;

    [TearDown]
    public async Task DisposeHarnessesAsync()
    {
        foreach (var harness in _harnesses)
        {
            await harness.DisposeAsync();
        }

        _harnesses.Clear();
        await CleanUpAsync();
    }

    private LifecycleHarness NewHarness(ISessionStore? store = null)
    {
        var harness = new LifecycleHarness(store ?? CreateStore());
        _harnesses.Add(harness);
        return harness;
    }

    // ---- fork ----

    [Test]
    public async Task ForkAsync_AtMessage_CopiesThatPrefixWithNewIdsAndRecomputedTotals()
    {
        var h = NewHarness();
        var (source, original) = await h.TwoTurnSessionAsync(new CreateSessionRequest { Title = "Plan", Metadata = new Dictionary<string, string> { ["owner"] = "ada" } });
        var before = await h.Sessions.GetAsync(source.Id);
        h.Time.Advance(TimeSpan.FromMinutes(5));

        var fork = await h.Sessions.ForkAsync(source.Id, original[1].Id);

        fork.Id.Should().NotBe(source.Id);
        fork.ParentId.Should().Be(source.Id);
        fork.Title.Should().Be("Plan (fork)");
        fork.Metadata.Should().Equal(new Dictionary<string, string> { ["owner"] = "ada" });
        fork.CreatedAt.Should().Be(h.Time.GetUtcNow());
        var copied = await h.Sessions.GetMessagesAsync(fork.Id);
        copied.Select(static m => m.Text).Should().Equal("one", "first answer");
        copied.Select(static m => m.Id).Should().NotIntersectWith(original.Select(static m => m.Id));
        copied.Select(static m => m.Id).Should().BeInAscendingOrder(StringComparer.Ordinal);
        copied.SelectMany(static m => m.Parts).Select(static p => p.Id).Should().NotIntersectWith(original.SelectMany(static m => m.Parts).Select(static p => p.Id));
        copied.Should().OnlyContain(m => m.SessionId == fork.Id);
        copied[1].Parts.Select(static p => p.GetType()).Should().Equal(original[1].Parts.Select(static p => p.GetType()));
        copied[1].CreatedAt.Should().Be(original[1].CreatedAt);
        fork.Tokens.Should().Be(original[1].Tokens);
        fork.Cost.Should().Be(original[1].Cost).And.BeGreaterThan(0m);
        (await h.Sessions.GetAsync(fork.Id)).Should().BeEquivalentTo(fork);

        (await h.Sessions.GetAsync(source.Id)).Should().BeEquivalentTo(before, "the original is untouched");
        Json(await h.Sessions.GetMessagesAsync(source.Id)).Should().Be(Json(original));
    }

    [Test]
    public async Task ForkAsync_NoMessageId_CopiesEverythingAndTheForkContinuesOnItsOwn()
    {
        var h = NewHarness();
        var source = await h.Sessions.CreateAsync();
        await h.TurnAsync(source.Id, "one", "first answer", 100, 10);

        var fork = await h.Sessions.ForkAsync(source.Id);
        await h.TurnAsync(fork.Id, "only in the fork", "fork answer", 50, 5);

        (await h.Sessions.GetMessagesAsync(fork.Id)).Select(static m => m.Text).Should().Equal("one", "first answer", "only in the fork", "fork answer");
        (await h.Sessions.GetMessagesAsync(source.Id)).Select(static m => m.Text).Should().Equal("one", "first answer");
        h.Client.Calls[^1].Messages.Select(static m => m.Text).Should().ContainInOrder("one", "first answer", "only in the fork");
        (await h.Sessions.GetAsync(fork.Id)).Tokens.Should().Be(new TokenUsage(150, 15, 0, 0, 0));
        (await h.Sessions.GetAsync(source.Id)).Tokens.Should().Be(new TokenUsage(100, 10, 0, 0, 0));
    }

    [Test]
    public async Task ForkAsync_AfterSummary_SummarizedThroughPointsIntoTheCopy()
    {
        var h = NewHarness();
        var source = await h.Sessions.CreateAsync();
        await h.TurnAsync(source.Id, "one", "first answer", 100, 10);
        h.Client.EnqueueText("the summary", 30, 3);
        var summary = await h.Sessions.SummarizeAsync(source.Id);
        var original = await h.Sessions.GetMessagesAsync(source.Id);
        int coveredIndex = original.ToList().FindIndex(m => m.Id == summary.SummarizedThrough);
        coveredIndex.Should().BeGreaterThanOrEqualTo(0);

        var fork = await h.Sessions.ForkAsync(source.Id);

        var copied = await h.Sessions.GetMessagesAsync(fork.Id);
        var copiedSummary = copied.Single(static m => m.IsSummary);
        copiedSummary.SummarizedThrough.Should().Be(copied[coveredIndex].Id);
        fork.Cost.Should().Be(original.Where(static m => m.Role == ChatRole.Assistant).Sum(static m => m.Cost));
    }

    [Test]
    public async Task ForkAsync_UnknownMessage_ThrowsArgumentExceptionNamingItAndCreatesNothing()
    {
        var h = NewHarness();
        var source = await h.Sessions.CreateAsync();
        await h.TurnAsync(source.Id, "one", "answer", 1, 1);
        string unknown = AgentCoreIds.NewMessageId();

        var act = () => h.Sessions.ForkAsync(source.Id, unknown);

        var thrown = await act.Should().ThrowAsync<ArgumentException>();
        thrown.Which.Message.Should().Contain(unknown);
        thrown.Which.ParamName.Should().Be("atMessageId");
        (await h.ListAsync()).Should().ContainSingle();
    }

    [TestCase("../../etc/passwd", null)]
    [TestCase("ses_ok", "msg_../x")]
    [TestCase("msg_wrongkind", null)]
    public async Task ForkAsync_InvalidIds_ThrowArgumentExceptionNamingThem(string sessionId, string? messageId)
    {
        var h = NewHarness();

        var act = () => h.Sessions.ForkAsync(sessionId, messageId);

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain(messageId ?? sessionId);
    }

    [Test]
    public async Task ForkAsync_UnknownSession_ThrowsSessionNotFound()
    {
        var h = NewHarness();

        var act = () => h.Sessions.ForkAsync(AgentCoreIds.NewSessionId());

        await act.Should().ThrowAsync<SessionNotFoundException>();
    }

    [Test]
    public async Task LifecycleCalls_SessionRunningATurn_ThrowSessionBusyAndChangeNothing()
    {
        var h = NewHarness();
        var session = await h.Sessions.CreateAsync();
        await h.TurnAsync(session.Id, "one", "answer", 1, 1);
        var first = (await h.Sessions.GetMessagesAsync(session.Id))[0];
        var parked = LifecycleHarness.Signal();
        var release = LifecycleHarness.Signal();
        h.Client.Enqueue(r => r.Text("partial ").Then(() => parked.TrySetResult()).WaitFor(release.Task).Text("done"));
        var turn = h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "two" });
        await parked.Task;

        await FluentActions.Awaiting(() => h.Sessions.ForkAsync(session.Id)).Should().ThrowAsync<SessionBusyException>();
        await FluentActions.Awaiting(() => h.Sessions.RevertAsync(session.Id, first.Id)).Should().ThrowAsync<SessionBusyException>();
        await FluentActions.Awaiting(() => h.Sessions.UnrevertAsync(session.Id)).Should().ThrowAsync<SessionBusyException>();
        (await h.Sessions.PurgeAsync(h.Time.GetUtcNow().AddYears(1))).Should().BeEmpty("a busy session is never purged");

        release.SetResult();
        await turn;
        (await h.ListAsync()).Should().ContainSingle();
        (await h.Sessions.GetAsync(session.Id)).RevertedAfter.Should().BeNull();
        (await h.Sessions.GetMessagesAsync(session.Id)).Should().HaveCount(4);
    }

    // ---- revert ----

    [Test]
    public async Task RevertAsync_ToEarlierMessage_HidesTheRestAndTotalsFollow()
    {
        var h = NewHarness();
        var (session, all) = await h.TwoTurnSessionAsync();

        var reverted = await h.Sessions.RevertAsync(session.Id, all[1].Id);

        reverted.RevertedAfter.Should().Be(all[1].Id);
        reverted.Tokens.Should().Be(all[1].Tokens);
        reverted.Cost.Should().Be(all[1].Cost);
        (await h.Sessions.GetAsync(session.Id)).Should().BeEquivalentTo(reverted);
        (await h.Sessions.GetMessagesAsync(session.Id)).Select(static m => m.Text).Should().Equal("one", "first answer");
        (await h.Store.GetMessagesAsync(session.Id)).Should().HaveCount(4, "reverted messages are kept until the next turn");
        (await h.Sessions.GetMessagesAsync((await h.Sessions.ForkAsync(session.Id)).Id)).Select(static m => m.Text)
            .Should().Equal("one", "first answer");
    }

    [Test]
    public async Task UnrevertAsync_AfterRevert_RestoresMessagesAndTotals()
    {
        var h = NewHarness();
        var (session, all) = await h.TwoTurnSessionAsync();
        var full = await h.Sessions.GetAsync(session.Id);
        await h.Sessions.RevertAsync(session.Id, all[0].Id);

        var restored = await h.Sessions.UnrevertAsync(session.Id);

        restored.RevertedAfter.Should().BeNull();
        restored.Tokens.Should().Be(full.Tokens);
        restored.Cost.Should().Be(full.Cost);
        Json(await h.Sessions.GetMessagesAsync(session.Id)).Should().Be(Json(all));
        (await h.Sessions.UnrevertAsync(session.Id)).Should().BeEquivalentTo(restored, "nothing is reverted any more");
    }

    [Test]
    public async Task RevertAsync_ThenTurn_DeletesRevertedMessagesAndThePromptSkipsThem()
    {
        var h = NewHarness();
        var (session, all) = await h.TwoTurnSessionAsync();
        await h.Sessions.RevertAsync(session.Id, all[1].Id);

        await h.TurnAsync(session.Id, "two again", "another second answer", 300, 30);

        h.Client.Calls[^1].Messages.Select(static m => m.Text).Should().NotContain(["two", "second answer"]);
        var stored = await h.Store.GetMessagesAsync(session.Id);
        stored.Select(static m => m.Text).Should().Equal("one", "first answer", "two again", "another second answer");
        var after = await h.Sessions.GetAsync(session.Id);
        after.RevertedAfter.Should().BeNull();
        after.Tokens.Should().Be(new TokenUsage(400, 40, 0, 0, 0));
        after.Cost.Should().Be(stored.Where(static m => m.Role == ChatRole.Assistant).Sum(static m => m.Cost));
        (await h.Sessions.UnrevertAsync(session.Id)).RevertedAfter.Should().BeNull();
        (await h.Sessions.GetMessagesAsync(session.Id)).Should().HaveCount(4, "the next turn discarded the reverted messages for good");
    }

    [Test]
    public async Task RevertAsync_PastASummary_PromptStartsFromTheMessagesBeforeIt()
    {
        var h = NewHarness();
        var session = await h.Sessions.CreateAsync();
        await h.TurnAsync(session.Id, "one", "first answer", 100, 10);
        var keep = (await h.Sessions.GetMessagesAsync(session.Id))[^1];
        await h.TurnAsync(session.Id, "two", "second answer", 100, 10);
        h.Client.EnqueueText("the summary", 30, 3);
        await h.Sessions.SummarizeAsync(session.Id);

        await h.Sessions.RevertAsync(session.Id, keep.Id);
        await h.TurnAsync(session.Id, "three", "third answer", 100, 10);

        var prompt = h.Client.Calls[^1].Messages.Select(static m => m.Text).ToList();
        prompt.Should().ContainInOrder("one", "first answer", "three");
        prompt.Should().NotContain(["the summary", "two", "second answer"]);
    }

    [Test]
    public async Task RevertAsync_UnknownOrInvalidMessage_ThrowsArgumentExceptionNamingIt()
    {
        var h = NewHarness();
        var session = await h.Sessions.CreateAsync();
        await h.TurnAsync(session.Id, "one", "answer", 1, 1);
        string unknown = AgentCoreIds.NewMessageId();

        (await FluentActions.Awaiting(() => h.Sessions.RevertAsync(session.Id, unknown)).Should().ThrowAsync<ArgumentException>())
            .Which.Message.Should().Contain(unknown);
        (await FluentActions.Awaiting(() => h.Sessions.RevertAsync(session.Id, "msg_../../x")).Should().ThrowAsync<ArgumentException>())
            .Which.Message.Should().Contain("msg_../../x");
        (await FluentActions.Awaiting(() => h.Sessions.RevertAsync("ses_a/b", unknown)).Should().ThrowAsync<ArgumentException>())
            .Which.Message.Should().Contain("ses_a/b");
        (await h.Sessions.GetAsync(session.Id)).RevertedAfter.Should().BeNull();
    }

    // ---- export and import ----

    [Test]
    public async Task ExportAsync_GoldenSession_WritesTheCommittedFileByteForByte()
    {
        var h = NewHarness();
        var (session, messages) = GoldenSession();
        await h.Store.SaveSessionAsync(session);
        foreach (var message in messages)
        {
            await h.Store.SaveMessageAsync(message);
        }

        byte[] exported = await h.ExportAsync(session.Id);

        ShouldEqualGolden(exported);
    }

    [Test]
    public async Task ImportAsync_GoldenFile_StoresItExactlyAndExportsTheSameBytes()
    {
        var h = NewHarness();
        byte[] golden = await File.ReadAllBytesAsync(GoldenPath);

        var imported = await h.Sessions.ImportAsync(new MemoryStream(golden));

        var (session, messages) = GoldenSession();
        imported.Should().BeEquivalentTo(session, "the id is free, so it is kept");
        (await h.Sessions.GetAsync(session.Id)).Should().BeEquivalentTo(session);
        Json(await h.Store.GetMessagesAsync(session.Id)).Should().Be(Json(messages));
        ShouldEqualGolden(await h.ExportAsync(session.Id));
    }

    [Test]
    public async Task ExportThenImport_IntoAnotherStore_RoundTripsASessionWithTurnsExactly()
    {
        var from = NewHarness();
        var session = await from.Sessions.CreateAsync(new CreateSessionRequest { Title = "Ünïcode ✓ 你好", Metadata = new Dictionary<string, string> { ["tags"] = "a,b" } });
        await from.TurnAsync(session.Id, "one", "first answer", 123, 45);
        byte[] exported = await from.ExportAsync(session.Id);
        var to = NewHarness();

        var imported = await to.Sessions.ImportAsync(new MemoryStream(exported));

        imported.Should().BeEquivalentTo(await from.Sessions.GetAsync(session.Id));
        Json(await to.Sessions.GetMessagesAsync(session.Id)).Should().Be(Json(await from.Sessions.GetMessagesAsync(session.Id)));
        (await to.ExportAsync(session.Id)).Should().Equal(exported);
    }

    [Test]
    public async Task ImportAsync_IdTaken_StoresUnderANewIdAndLeavesTheOtherAlone()
    {
        var h = NewHarness();
        var session = await h.Sessions.CreateAsync();
        await h.TurnAsync(session.Id, "one", "answer", 10, 1);
        byte[] exported = await h.ExportAsync(session.Id);

        var copy = await h.Sessions.ImportAsync(new MemoryStream(exported));

        copy.Id.Should().NotBe(session.Id);
        var messages = await h.Sessions.GetMessagesAsync(copy.Id);
        messages.Select(static m => m.Text).Should().Equal("one", "answer");
        messages.Should().OnlyContain(m => m.SessionId == copy.Id);
        (await h.Sessions.GetMessagesAsync(session.Id)).Should().HaveCount(2);
        (await h.ListAsync()).Should().HaveCount(2);
    }

    [Test]
    public async Task ImportAsync_RevertedSession_KeepsTheRevertPoint()
    {
        var h = NewHarness();
        var (session, all) = await h.TwoTurnSessionAsync();
        var reverted = await h.Sessions.RevertAsync(session.Id, all[1].Id);
        byte[] exported = await h.ExportAsync(session.Id);
        var to = NewHarness();

        var imported = await to.Sessions.ImportAsync(new MemoryStream(exported));

        imported.Should().BeEquivalentTo(reverted);
        (await to.Sessions.GetMessagesAsync(imported.Id)).Should().HaveCount(2);
        (await to.Sessions.UnrevertAsync(imported.Id)).Tokens.Should().Be(new TokenUsage(300, 30, 0, 0, 0));
    }

    /// <summary>Documents an import refuses, each with what its error must say.</summary>
    public static IEnumerable<TestCaseData> BadExports()
    {
        string golden = File.ReadAllText(GoldenPath);
        yield return new TestCaseData("", "not valid JSON").SetName("ImportAsync_Empty_ThrowsInvalidDataAndWritesNothing");
        yield return new TestCaseData(golden[..(golden.Length / 2)], "truncated").SetName("ImportAsync_Truncated_ThrowsInvalidDataAndWritesNothing");
        yield return new TestCaseData(golden.Replace("\"version\": 1", "\"version\": 2", StringComparison.Ordinal), "version 2, newer")
            .SetName("ImportAsync_NewerVersion_ThrowsInvalidDataAndWritesNothing");
        yield return new TestCaseData(golden.Replace("\"version\": 1", "\"version\": \"1\"", StringComparison.Ordinal), "integer \"version\"")
            .SetName("ImportAsync_VersionNotANumber_ThrowsInvalidDataAndWritesNothing");
        yield return new TestCaseData(golden.Replace("\"agentcore.session\"", "\"other.format\"", StringComparison.Ordinal), "\"format\"")
            .SetName("ImportAsync_OtherFormat_ThrowsInvalidDataAndWritesNothing");
        yield return new TestCaseData("[1, 2, 3]", "not an object").SetName("ImportAsync_NotAnObject_ThrowsInvalidDataAndWritesNothing");
        yield return new TestCaseData(golden.Replace("\"title\": \"Golden\"", "\"title\": 42", StringComparison.Ordinal), "wrong type")
            .SetName("ImportAsync_WrongType_ThrowsInvalidDataAndWritesNothing");
        yield return new TestCaseData(golden.Replace("\"msg_golden-2\"", "\"msg_../../etc/passwd\"", StringComparison.Ordinal), "messages[1].id")
            .SetName("ImportAsync_TraversalMessageId_ThrowsInvalidDataAndWritesNothing");
        yield return new TestCaseData(golden.Replace("\"ses_golden\"", "\"../ses\"", StringComparison.Ordinal), "session.id")
            .SetName("ImportAsync_BadSessionId_ThrowsInvalidDataAndWritesNothing");
        yield return new TestCaseData(golden.Replace("\"msg_golden-2\"", "\"msg_golden-1\"", StringComparison.Ordinal), "appears twice")
            .SetName("ImportAsync_DuplicateMessageId_ThrowsInvalidDataAndWritesNothing");
        string deep = string.Concat(Enumerable.Repeat("[", 10_000)) + string.Concat(Enumerable.Repeat("]", 10_000));
        yield return new TestCaseData(golden.Replace("\"pattern\": \"a.*b\"", "\"pattern\": " + deep, StringComparison.Ordinal), "deeper than 64")
            .SetName("ImportAsync_DeeplyNested_ThrowsInvalidDataAndWritesNothing");
        yield return new TestCaseData(golden.Replace("\"format\": \"agentcore.session\",", "", StringComparison.Ordinal), "\"format\"")
            .SetName("ImportAsync_NoFormat_ThrowsInvalidDataAndWritesNothing");
    }

    [TestCaseSource(nameof(BadExports))]
    public async Task ImportAsync_BadDocument_ThrowsInvalidDataAndWritesNothing(string document, string reason)
    {
        var h = NewHarness();
        var existing = await h.Sessions.CreateAsync();

        var act = () => h.Sessions.ImportAsync(new MemoryStream(Encoding.UTF8.GetBytes(document)));

        (await act.Should().ThrowAsync<InvalidDataException>()).Which.Message.Should().Contain(reason);
        (await h.ListAsync()).Select(static s => s.Id).Should().Equal(existing.Id);
        (await h.Store.GetMessagesAsync("ses_golden")).Should().BeEmpty();
    }

    [Test]
    public async Task ImportAsync_ArgumentsNestedWithinTheLimit_ImportsThem()
    {
        var h = NewHarness();
        string nested = string.Concat(Enumerable.Repeat("[", 50)) + "1" + string.Concat(Enumerable.Repeat("]", 50));
        string document = (await File.ReadAllTextAsync(GoldenPath)).Replace("\"pattern\": \"a.*b\"", "\"pattern\": " + nested, StringComparison.Ordinal);

        var imported = await h.Sessions.ImportAsync(new MemoryStream(Encoding.UTF8.GetBytes(document)));

        var tool = (await h.Store.GetMessagesAsync(imported.Id)).SelectMany(static m => m.Parts).OfType<ToolPart>().Single(static t => t.CallId == "call_running");
        tool.Arguments!.Value.GetProperty("pattern").GetRawText().Replace(" ", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal)
            .Should().Be(nested);
    }

    [Test]
    public async Task ImportAsync_LargerThanTheLimit_ThrowsInvalidDataWithoutReadingIt()
    {
        var h = NewHarness();
        using var huge = new LengthOnlyStream(SessionExportFormat.MaxBytes + 1);

        var act = () => h.Sessions.ImportAsync(huge);

        (await act.Should().ThrowAsync<InvalidDataException>()).Which.Message.Should().Contain(SessionExportFormat.MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
        huge.BytesRead.Should().Be(0);
        (await h.ListAsync()).Should().BeEmpty();
    }

    [Test]
    public async Task ExportAndImport_BadArguments_Throw()
    {
        var h = NewHarness();

        await FluentActions.Awaiting(() => h.Sessions.ExportAsync("ses_a b", new MemoryStream())).Should().ThrowAsync<ArgumentException>().WithMessage("*ses_a b*");
        await FluentActions.Awaiting(() => h.Sessions.ExportAsync(AgentCoreIds.NewSessionId(), new MemoryStream())).Should().ThrowAsync<SessionNotFoundException>();
        await FluentActions.Awaiting(() => h.Sessions.ExportAsync(AgentCoreIds.NewSessionId(), null!)).Should().ThrowAsync<ArgumentNullException>();
        await FluentActions.Awaiting(() => h.Sessions.ImportAsync(null!)).Should().ThrowAsync<ArgumentNullException>();
    }

    // ---- purge ----

    [Test]
    public async Task PurgeAsync_OldAndRecentSessions_DeletesOnlyThoseNotUpdatedSince()
    {
        var h = NewHarness();
        var old = await h.Sessions.CreateAsync(new CreateSessionRequest { Title = "old" });
        await h.TurnAsync(old.Id, "one", "answer", 1, 1);
        var touched = await h.Sessions.CreateAsync(new CreateSessionRequest { Title = "old but touched" });
        h.Time.Advance(TimeSpan.FromDays(10));
        await h.Sessions.UpdateAsync(touched.Id, static s => s with { Title = "touched" });
        var recent = await h.Sessions.CreateAsync(new CreateSessionRequest { Title = "recent" });

        var purged = await h.Sessions.PurgeAsync(h.Time.GetUtcNow().AddDays(-1));

        purged.Should().Equal(old.Id);
        (await h.ListAsync()).Select(static s => s.Id).Should().BeEquivalentTo([touched.Id, recent.Id]);
        (await h.Store.GetMessagesAsync(old.Id)).Should().BeEmpty();
        (await h.Sessions.PurgeAsync(h.Time.GetUtcNow().AddDays(-1))).Should().BeEmpty();
    }

    // ---- filtered listing ----

    [Test]
    public async Task ListAsyncQuery_AfterCreateForkTurnImportAndDelete_ListsEachOwnersSessionsAsStored()
    {
        var h = NewHarness();
        var ada = new Dictionary<string, string> { ["owner"] = "ada", ["tenant"] = "acme" };
        var first = await h.Sessions.CreateAsync(new CreateSessionRequest { Title = "first", Metadata = ada });
        h.Time.Advance(TimeSpan.FromMinutes(1));
        var grace = await h.Sessions.CreateAsync(new CreateSessionRequest { Title = "grace's", Metadata = new Dictionary<string, string> { ["owner"] = "grace" } });
        h.Time.Advance(TimeSpan.FromMinutes(1));
        var second = await h.Sessions.CreateAsync(new CreateSessionRequest { Title = "second", Metadata = ada });
        await h.TurnAsync(second.Id, "one", "answer", 1, 1);
        h.Time.Advance(TimeSpan.FromMinutes(1));
        var fork = await h.Sessions.ForkAsync(second.Id);
        var marker = h.Time.GetUtcNow();
        h.Time.Advance(TimeSpan.FromMinutes(1));
        await h.TurnAsync(first.Id, "two", "answer", 1, 1);
        var imported = await h.Sessions.ImportAsync(new MemoryStream(await h.ExportAsync(grace.Id)));
        var doomed = await h.Sessions.CreateAsync(new CreateSessionRequest { Metadata = ada });
        await h.Sessions.DeleteAsync(doomed.Id);
        var byAda = new SessionQuery { Metadata = new Dictionary<string, string> { ["owner"] = "ada" }, PageSize = 2 };

        var page1 = await h.Sessions.ListAsync(byAda);
        var page2 = await h.Sessions.ListAsync(byAda with { Cursor = page1.NextCursor });

        page1.Sessions.Select(static s => s.Id).Should().Equal(fork.Id, second.Id);
        page2.Sessions.Select(static s => s.Id).Should().Equal(first.Id);
        page2.NextCursor.Should().BeNull();
        page2.Sessions[0].Should().BeEquivalentTo(await h.Sessions.GetAsync(first.Id), "the listing shows the session as stored, totals included");
        (await h.Sessions.ListAsync(new SessionQuery { ParentId = second.Id })).Sessions.Select(static s => s.Id).Should().Equal(fork.Id);
        (await h.Sessions.ListAsync(new SessionQuery { Metadata = new Dictionary<string, string> { ["owner"] = "grace" } })).Sessions
            .Select(static s => s.Id).Should().Equal(imported.Id, grace.Id);
        (await h.Sessions.ListAsync(new SessionQuery { Metadata = ada, UpdatedAfter = marker })).Sessions.Select(static s => s.Id).Should().Equal(first.Id);
    }

    [Test]
    public async Task ListAsyncQuery_BadArguments_ThrowArgumentExceptionsNamingTheValue()
    {
        var h = NewHarness();

        await FluentActions.Awaiting(() => h.Sessions.ListAsync((SessionQuery)null!)).Should().ThrowAsync<ArgumentNullException>();
        FluentActions.Invoking(() => new SessionQuery { PageSize = 0 }).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*0*");
        FluentActions.Invoking(() => new SessionQuery { ParentId = "ses_../x" }).Should().Throw<ArgumentException>().WithMessage("*ses_../x*");
        FluentActions.Invoking(() => new SessionQuery { Cursor = "not-a-cursor" }).Should().Throw<ArgumentException>().WithMessage("*not-a-cursor*");
    }

    // ---- helpers ----

    private static string GoldenPath => Path.Combine(AppContext.BaseDirectory, "session-export.v1.json");

    private static void ShouldEqualGolden(byte[] exported)
    {
        byte[] golden = File.ReadAllBytes(GoldenPath);
        if (!exported.AsSpan().SequenceEqual(golden))
        {
            string actual = Path.Combine(Path.GetTempPath(), $"session-export.v1.actual-{Guid.NewGuid():N}.json");
            File.WriteAllBytes(actual, exported);
            Assert.Fail($"The export differs from tests/Shared/session-export.v1.json; what was written is in {actual}.");
        }
    }

    private static string Json(IReadOnlyList<SessionMessage> messages) =>
        string.Join("\n", messages.Select(static m => JsonSerializer.Serialize(m, AgentCoreJson.Options)));

    /// <summary>A session with every field and every part type, under fixed ids and times.</summary>
    private static (SessionInfo Session, SessionMessage[] Messages) GoldenSession()
    {
        var t = new DateTimeOffset(2026, 3, 14, 15, 9, 26, TimeSpan.Zero).AddTicks(5_358_979);
        static JsonElement Parse(string json)
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }

        var user = new SessionMessage
        {
            Id = "msg_golden-1", SessionId = "ses_golden", Role = ChatRole.User, CreatedAt = t, CompletedAt = t,
            Parts =
            [
                new TextPart { Id = "prt_golden-1", Text = "Read ä.cs, please 🙂 — \"quoted\"\n\ttabbed \u0001" },
                new FilePart { Id = "prt_golden-2", MediaType = "image/png", Name = "bytes.png", Data = Enumerable.Range(0, 256).Select(static i => (byte)i).ToArray() },
                new FilePart { Id = "prt_golden-3", MediaType = "application/pdf", Uri = "https://example.com/a%20b.pdf?x=1&y=2" },
            ],
        };
        var assistant = new SessionMessage
        {
            Id = "msg_golden-2", SessionId = "ses_golden", Role = ChatRole.Assistant, CreatedAt = t.AddSeconds(1), CompletedAt = t.AddSeconds(30).AddTicks(7),
            ProviderId = "test", ModelId = "model-1", Tokens = new TokenUsage(1000, 200, 50, 300, 40), Cost = 0.001234567m,
            FinishReason = "stop", Error = new MessageError(MessageErrorKind.Api, "overloaded", 529),
            Parts =
            [
                new StepStartPart { Id = "prt_golden-4", StartedAt = t.AddTicks(1) },
                new ReasoningPart { Id = "prt_golden-5", Text = "First, read the file." },
                new TextPart { Id = "prt_golden-6", Text = "Reading it now." },
                new ToolPart { Id = "prt_golden-7", CallId = "call_pending", ToolName = "list", Arguments = Parse("{}") },
                new ToolPart
                {
                    Id = "prt_golden-8", CallId = "call_running", ToolName = "grep", State = ToolState.Running,
                    Arguments = Parse("""{"pattern": "a.*b", "flags": ["i", "m"], "limit": 10, "exact": 1.50, "none": null, "yes": true}"""),
                    StartedAt = t.AddSeconds(1),
                },
                new ToolPart
                {
                    Id = "prt_golden-9", CallId = "call_done", ToolName = "read", State = ToolState.Completed,
                    Arguments = Parse("""{"path": "src/ä.cs", "range": {"from": 1, "to": 2e3}}"""),
                    Output = "line 1\nline 2", StartedAt = t.AddSeconds(2), EndedAt = t.AddSeconds(3).AddTicks(9), Compacted = true,
                    Attachments = [new FilePart { Id = "prt_golden-10", MediaType = "image/jpeg", Data = [0xff, 0xd8, 0x00, 0xd9] }],
                },
                new ToolPart
                {
                    Id = "prt_golden-11", CallId = "call_error", ToolName = "write", State = ToolState.Error,
                    RawArguments = "{\"path\": unterminated", Error = "The arguments are not valid JSON.",
                    StartedAt = t.AddSeconds(4), EndedAt = t.AddSeconds(4),
                },
                new StepFinishPart { Id = "prt_golden-12", Tokens = new TokenUsage(1000, 200, 50, 300, 40), Cost = 0.001234567m, FinishReason = "tool_calls", EndedAt = t.AddSeconds(5) },
            ],
        };
        var summary = new SessionMessage
        {
            Id = "msg_golden-3", SessionId = "ses_golden", Role = ChatRole.Assistant, CreatedAt = t.AddSeconds(40), CompletedAt = t.AddSeconds(41),
            ProviderId = "test", ModelId = "model-1", Tokens = new TokenUsage(10, 2, 0, 0, 0), Cost = 0.00006m, IsSummary = true,
            SummarizedThrough = "msg_golden-2", FinishReason = "stop",
            Parts = [new TextPart { Id = "prt_golden-13", Text = "The user asked to read a file." }],
        };
        var session = new SessionInfo
        {
            Id = "ses_golden", ParentId = "ses_golden-parent", Title = "Golden", CreatedAt = t, UpdatedAt = t.AddSeconds(41),
            Tokens = assistant.Tokens + summary.Tokens, Cost = assistant.Cost + summary.Cost,
            TotalsCheckpoint = new SessionTotalsCheckpoint { MessageId = summary.Id, MessageTokens = summary.Tokens, MessageCost = summary.Cost },
            Metadata = new Dictionary<string, string> { ["owner"] = "ada", ["tags"] = "golden,export" },
        };
        return (session, [user, assistant, summary]);
    }

    /// <summary>A seekable stream that claims a length and has no content: an import must refuse it from its length.</summary>
    private sealed class LengthOnlyStream(long length) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get; set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            BytesRead += count;
            return 0;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>AgentCore over one store, a <see cref="ScriptedChatClient"/> and a <see cref="FakeTimeProvider"/>.</summary>
internal sealed class LifecycleHarness : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("agentcore-lifecycle-").FullName;

    public LifecycleHarness(ISessionStore store)
    {
        Store = store;
        var services = new ServiceCollection();
        services.AddAgentCore(o =>
            {
                o.DataDirectory = _dataDirectory;
                o.DefaultModel = "test/model-1";
                o.GenerateTitles = false;
                o.IncludeEnvironment = false;
                o.IncludeContextFiles = false;
            })
            .AddChatClient("test", Client, [new ModelInfo("test", "model-1", 200_000, 8_000, new ModelPricing(3m, 15m, 0.3m, 3.75m))])
            .UseSessionStore(_ => store);
        services.AddSingleton<TimeProvider>(Time);
        _provider = services.BuildServiceProvider();
    }

    public ISessionStore Store { get; }

    public ScriptedChatClient Client { get; } = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));

    public ISessionService Sessions => _provider.GetRequiredService<ISessionService>();

    public static TaskCompletionSource Signal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>One turn: the user says <paramref name="text"/>, the model answers <paramref name="answer"/> with that usage.</summary>
    public async Task TurnAsync(string sessionId, string text, string answer, long input, long output)
    {
        Client.EnqueueText(answer, input, output);
        await Sessions.ChatAsync(new ChatRequest { SessionId = sessionId, Text = text });
        Time.Advance(TimeSpan.FromSeconds(1));
    }

    /// <summary>
    /// A new session with two turns — "one" answered "first answer" (100 input, 10 output tokens), then "two" answered
    /// "second answer" (200, 20) — and its four messages.
    /// </summary>
    public async Task<(SessionInfo Session, IReadOnlyList<SessionMessage> Messages)> TwoTurnSessionAsync(CreateSessionRequest? request = null)
    {
        var session = await Sessions.CreateAsync(request);
        await TurnAsync(session.Id, "one", "first answer", 100, 10);
        await TurnAsync(session.Id, "two", "second answer", 200, 20);
        return (session, await Sessions.GetMessagesAsync(session.Id));
    }

    public async Task<byte[]> ExportAsync(string sessionId)
    {
        using var stream = new MemoryStream();
        await Sessions.ExportAsync(sessionId, stream);
        return stream.ToArray();
    }

    public async Task<List<SessionInfo>> ListAsync()
    {
        var sessions = new List<SessionInfo>();
        await foreach (var session in Sessions.ListAsync())
        {
            sessions.Add(session);
        }

        return sessions;
    }

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
