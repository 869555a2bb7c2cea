using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Testing;

/// <summary>
/// The conformance suite every <see cref="ISessionStore"/> should pass: derive a non-abstract NUnit fixture from it
/// and override <see cref="CreateStore"/>.
/// </summary>
/// <remarks>
/// <para>Each test gets a new, empty store from <see cref="CreateStore"/> (for a database: a new database or schema;
/// for files: a new temporary folder). The base class disposes the stores it created (when they are
/// <see cref="IAsyncDisposable"/> or <see cref="IDisposable"/>) and then calls <see cref="CleanUpAsync"/>.</para>
/// <para>What the suite holds a store to:</para>
/// <list type="bullet">
/// <item>every field of <see cref="SessionInfo"/>, <see cref="SessionMessage"/> and every <see cref="MessagePart"/> type round-trips
/// exactly (times to the tick; the suite uses UTC times, so a store may normalize offsets to UTC);</item>
/// <item>sessions list newest first by <see cref="SessionInfo.CreatedAt"/>, ties broken by id descending; messages read in ascending id order;</item>
/// <item><see cref="ISessionStore.ListSessionsAsync(SessionQuery, CancellationToken)"/> filters by metadata, parent and update
/// time (exclusive bounds, to the tick), in the same order, and its cursor pages through every match exactly once, following
/// every save, update and delete;</item>
/// <item>saves are upserts; deleting a session deletes its messages and nothing else; <see cref="ISessionStore.DeleteMessagesAsync"/> deletes the listed messages of one session and nothing else;</item>
/// <item><see cref="ISessionStore.SavePartAsync"/> leaves the stored message equal to the message passed, including when text is appended;</item>
/// <item>concurrent writers lose nothing; a 1 MB message and any Unicode text (emoji, CJK, right-to-left, control characters) round-trip;</item>
/// <item>every method rejects a malformed id with an <see cref="ArgumentException"/> whose message names the value, before touching storage;</item>
/// <item>where the store can hold corrupt data (the <c>Corrupt…</c> hooks), a corrupt record is skipped and the rest is read.</item>
/// </list>
/// <para>A test whose hook the store does not implement (it returns false) is reported as ignored, with the reason.</para>
/// </remarks>
/// <example>
/// <code>
/// [TestFixture] // also makes the test assembly reference NUnit, which the test adapter looks for
/// public sealed class MyStoreConformanceTests : SessionStoreConformanceTests
/// {
///     protected override ISessionStore CreateStore() =&gt; new MyStore(NewTemporaryConnection());
/// }
/// </code>
/// </example>
public abstract partial class SessionStoreConformanceTests
{
    /// <summary>A UTC time with a sub-millisecond part, so stores that drop precision fail.</summary>
    protected static readonly DateTimeOffset BaseTime = new DateTimeOffset(2026, 3, 14, 15, 9, 26, TimeSpan.Zero).AddTicks(5_358_979);

    private readonly List<ISessionStore> _created = [];

    /// <summary>The store under test: a new, empty one for each test.</summary>
    protected ISessionStore Store { get; private set; } = null!;

    /// <summary>Creates a new, empty store. Called once before each test.</summary>
    /// <returns>The store.</returns>
    protected abstract ISessionStore CreateStore();

    /// <summary>
    /// Creates a second store instance over the same data as <see cref="Store"/> (the same folder, file or database),
    /// as a second process would. The concurrency tests write through both when this returns one. Default: null.
    /// </summary>
    /// <returns>The second instance, or null when the store has none.</returns>
    protected virtual ISessionStore? CreateStoreOnSameData() => null;

    /// <summary>
    /// Damages the stored record of session <paramref name="sessionId"/> so that it no longer parses.
    /// Returns false (the default) when the store cannot hold corrupt data.
    /// </summary>
    /// <param name="store">The store to damage: <see cref="Store"/> or one from <see cref="CreateStoreOnSameData"/>.</param>
    /// <param name="sessionId">The session whose record to damage.</param>
    /// <returns>True when the record was damaged; false when the store cannot hold it (the test is then skipped).</returns>
    protected virtual ValueTask<bool> CorruptSessionAsync(ISessionStore store, string sessionId) => ValueTask.FromResult(false);

    /// <summary>
    /// Damages the stored record of message <paramref name="messageId"/> of session <paramref name="sessionId"/> so that it
    /// no longer parses, leaving the session's other messages intact. Returns false (the default) when the store cannot hold corrupt data.
    /// </summary>
    /// <param name="store">The store to damage: <see cref="Store"/> or one from <see cref="CreateStoreOnSameData"/>.</param>
    /// <param name="sessionId">The message's session.</param>
    /// <param name="messageId">The message whose record to damage.</param>
    /// <returns>True when the record was damaged; false when the store cannot hold it (the test is then skipped).</returns>
    protected virtual ValueTask<bool> CorruptMessageAsync(ISessionStore store, string sessionId, string messageId) => ValueTask.FromResult(false);

    /// <summary>
    /// Stores session <paramref name="session"/> (already saved) damaged as <paramref name="damage"/> says, in place of its
    /// record. A store that keeps sessions as AgentCore JSON can write <see cref="DamagedSessionJson"/>. Returns false
    /// (the default) when the store cannot hold that damage (its schema or type system rules it out).
    /// </summary>
    /// <param name="store">The store to damage: <see cref="Store"/> or one from <see cref="CreateStoreOnSameData"/>.</param>
    /// <param name="session">The stored session.</param>
    /// <param name="damage">The damage to make.</param>
    /// <returns>True when the record was damaged; false when the store cannot hold it (the test is then skipped).</returns>
    protected virtual ValueTask<bool> DamageSessionAsync(ISessionStore store, SessionInfo session, SessionRecordDamage damage) => ValueTask.FromResult(false);

    /// <summary>
    /// Stores message <paramref name="message"/> (already saved) damaged as <paramref name="damage"/> says, in place of its
    /// record; the part damages spoil <paramref name="part"/> (a completed tool part of the message) only. A store that
    /// keeps messages as AgentCore JSON can write <see cref="DamagedMessageJson"/>, one that keeps parts as JSON rows
    /// <see cref="DamagedPartJson"/>. Returns false (the default) when the store cannot hold that damage (a NOT NULL or
    /// typed column rules it out).
    /// </summary>
    /// <param name="store">The store to damage: <see cref="Store"/> or one from <see cref="CreateStoreOnSameData"/>.</param>
    /// <param name="message">The stored message.</param>
    /// <param name="part">The tool part the part damages spoil.</param>
    /// <param name="damage">The damage to make.</param>
    /// <returns>True when the record was damaged; false when the store cannot hold it (the test is then skipped).</returns>
    protected virtual ValueTask<bool> DamageMessageAsync(ISessionStore store, SessionMessage message, MessagePart part, MessageRecordDamage damage) =>
        ValueTask.FromResult(false);

    /// <summary>
    /// Makes every attempt to read the messages of session <paramref name="sessionId"/> fail (for example by moving the
    /// messages' table or file out of the way), so the suite can show that listing sessions reads no message.
    /// Returns false (the default) when the store cannot do that.
    /// </summary>
    /// <param name="store">The store to damage: <see cref="Store"/> or one from <see cref="CreateStoreOnSameData"/>.</param>
    /// <param name="sessionId">The session whose messages become unreadable.</param>
    /// <returns>True when the messages were made unreadable; false when the store cannot do it (the test is then skipped).</returns>
    protected virtual ValueTask<bool> MakeMessagesUnreadableAsync(ISessionStore store, string sessionId) => ValueTask.FromResult(false);

    /// <summary>Releases what <see cref="CreateStore"/> made (temporary folders, databases). Called after each test, after the stores are disposed.</summary>
    /// <returns>A task that completes when everything is released.</returns>
    protected virtual ValueTask CleanUpAsync() => ValueTask.CompletedTask;

    /// <summary>Creates the store for the next test.</summary>
    [SetUp]
    public void CreateStoreForTest()
    {
        Store = Track(CreateStore());
    }

    /// <summary>Disposes the stores of the test and cleans up.</summary>
    [TearDown]
    public async Task DisposeStoresAsync()
    {
        foreach (var store in _created)
        {
            await Disposal.DisposeAsync(store);
        }

        _created.Clear();
        await CleanUpAsync();
    }

    // ---- sessions ----

    /// <summary>An unknown session reads as null.</summary>
    [Test]
    public async Task GetSessionAsync_Unknown_ReturnsNull()
    {
        (await Store.GetSessionAsync(AgentCoreIds.NewSessionId())).Should().BeNull();
    }

    /// <summary>Every field of a session round-trips.</summary>
    [Test]
    public async Task SaveSessionAsync_EveryField_RoundTrips()
    {
        var session = NewSession(BaseTime) with
        {
            ParentId = AgentCoreIds.NewSessionId(),
            Title = "Refactor the parser",
            UpdatedAt = BaseTime.AddMinutes(5).AddTicks(3),
            Tokens = new TokenUsage(Input: 1_234_567_890_123, Output: 456, Reasoning: 78, CacheRead: 9_000, CacheWrite: 12),
            Cost = 12.345678901234567890m,
            TotalsCheckpoint = new SessionTotalsCheckpoint
            {
                MessageId = AgentCoreIds.NewMessageId(), MessageTokens = new TokenUsage(1, 2, 3, 4, 5), MessageCost = 0.000000001m,
                OtherTokens = new TokenUsage(6, 7, 8, 9, 10), OtherCost = 0.25m,
            },
            Metadata = new Dictionary<string, string> { ["owner"] = "ada", ["tags"] = "a,b", ["empty"] = "" },
        };

        await Store.SaveSessionAsync(session);

        var read = await Store.GetSessionAsync(session.Id);
        read.Should().BeEquivalentTo(session);
        read!.CreatedAt.UtcTicks.Should().Be(session.CreatedAt.UtcTicks);
        read.UpdatedAt.UtcTicks.Should().Be(session.UpdatedAt.UtcTicks);
        read.Cost.Should().Be(session.Cost);
    }

    /// <summary>A session saved with no metadata reads back with empty (not null) metadata and no parent.</summary>
    [Test]
    public async Task SaveSessionAsync_NoMetadataNoParent_ReadsEmptyMetadata()
    {
        var session = NewSession(BaseTime);

        await Store.SaveSessionAsync(session);

        var read = await Store.GetSessionAsync(session.Id);
        read.Should().NotBeNull();
        read!.Metadata.Should().NotBeNull().And.BeEmpty();
        read.ParentId.Should().BeNull();
    }

    /// <summary>An update reads the stored session, saves what the function returns and returns it; a missing session gives null.</summary>
    [Test]
    public async Task UpdateSessionAsync_Existing_SavesTheResultAndMissingGivesNull()
    {
        var session = NewSession(BaseTime);
        await Store.SaveSessionAsync(session);

        var updated = await Store.UpdateSessionAsync(session.Id, s => s with { Title = "Renamed" });
        var unchanged = await Store.UpdateSessionAsync(session.Id, static s => s);

        updated!.Title.Should().Be("Renamed");
        unchanged.Should().BeEquivalentTo(updated);
        (await Store.GetSessionAsync(session.Id)).Should().BeEquivalentTo(updated);
        (await Store.UpdateSessionAsync(AgentCoreIds.NewSessionId(), static s => s with { Title = "x" })).Should().BeNull();
        await FluentActions.Awaiting(() => Store.UpdateSessionAsync("../ses_x", static s => s).AsTask())
            .Should().ThrowAsync<ArgumentException>().WithMessage("*../ses_x*");
    }

    /// <summary>Updates of one session from many tasks at once (and, on a shared store, from several instances) lose none.</summary>
    [Test]
    public async Task UpdateSessionAsync_ManyTasksAtOnce_NoUpdateLost()
    {
        const int Updates = 40;
        var session = NewSession(BaseTime);
        await Store.SaveSessionAsync(session);
        var other = CreateStoreOnSameData() is { } second ? Track(second) : Store;

        await Task.WhenAll(Enumerable.Range(0, Updates).Select(i => Task.Run(async () =>
        {
            var store = i % 2 == 0 ? Store : other;
            await store.UpdateSessionAsync(session.Id, s => s with
            {
                Metadata = new Dictionary<string, string>(s.Metadata) { [$"k{i}"] = "v" },
            });
        })));

        (await Store.GetSessionAsync(session.Id))!.Metadata.Keys.Should().BeEquivalentTo(Enumerable.Range(0, Updates).Select(static i => $"k{i}"));
    }

    /// <summary>Saving a session again replaces it.</summary>
    [Test]
    public async Task SaveSessionAsync_Existing_Replaces()
    {
        var session = NewSession(BaseTime) with { Metadata = new Dictionary<string, string> { ["owner"] = "ada", ["old"] = "x" } };
        await Store.SaveSessionAsync(session);
        var changed = session with
        {
            Title = "Renamed",
            UpdatedAt = BaseTime.AddHours(1),
            Tokens = new TokenUsage(10, 20, 3, 4, 5),
            Cost = 0.5m,
            Metadata = new Dictionary<string, string> { ["owner"] = "grace" },
        };

        await Store.SaveSessionAsync(changed);

        (await Store.GetSessionAsync(session.Id)).Should().BeEquivalentTo(changed);
        (await ListAsync(Store)).Should().ContainSingle().Which.Should().BeEquivalentTo(changed);
    }

    /// <summary>A new store lists nothing.</summary>
    [Test]
    public async Task ListSessionsAsync_Empty_ReturnsNothing()
    {
        (await ListAsync(Store)).Should().BeEmpty();
    }

    /// <summary>Sessions list newest first by creation time (not update time), ties broken by id descending.</summary>
    [Test]
    public async Task ListSessionsAsync_Several_NewestFirstByCreationThenIdDescending()
    {
        var oldest = NewSession(BaseTime) with { UpdatedAt = BaseTime.AddDays(3) };
        var middle = NewSession(BaseTime.AddMilliseconds(1));
        var tieA = NewSession(BaseTime.AddSeconds(2)) with { Id = "ses_tie-a" };
        var tieB = NewSession(BaseTime.AddSeconds(2)) with { Id = "ses_tie-b" };
        var newest = NewSession(BaseTime.AddDays(1));
        foreach (var session in new[] { middle, tieA, newest, oldest, tieB })
        {
            await Store.SaveSessionAsync(session);
        }

        var listed = await ListAsync(Store);

        listed.Select(static s => s.Id).Should().Equal(newest.Id, tieB.Id, tieA.Id, middle.Id, oldest.Id);
        listed[4].Should().BeEquivalentTo(oldest);
    }

    /// <summary>Listing sessions reads no message: it works, with the totals, while the messages cannot be read.</summary>
    [Test]
    public async Task ListSessionsAsync_MessagesUnreadable_ListsSessionsWithTotals()
    {
        var session = NewSession(BaseTime) with { Tokens = new TokenUsage(100, 20, 5, 30, 7), Cost = 0.0123m };
        await Store.SaveSessionAsync(session);
        await Store.SaveMessageAsync(UserMessage(session.Id, BaseTime, "hello"));
        if (!await MakeMessagesUnreadableAsync(Store, session.Id))
        {
            Assert.Ignore($"{Store.GetType().Name}: the fixture does not override MakeMessagesUnreadableAsync, so the suite cannot show that listing reads no message.");
        }

        Func<Task> readMessages = async () => await Store.GetMessagesAsync(session.Id);
        await readMessages.Should().ThrowAsync<Exception>("MakeMessagesUnreadableAsync must make reading the messages fail");

        (await ListAsync(Store)).Should().ContainSingle().Which.Should().BeEquivalentTo(session);
    }

    /// <summary>Deleting a session deletes it and its messages, and nothing of other sessions.</summary>
    [Test]
    public async Task DeleteSessionAsync_Existing_RemovesSessionAndMessagesOnly()
    {
        var doomed = NewSession(BaseTime);
        var kept = NewSession(BaseTime.AddSeconds(1));
        await Store.SaveSessionAsync(doomed);
        await Store.SaveSessionAsync(kept);
        await Store.SaveMessageAsync(UserMessage(doomed.Id, BaseTime, "bye"));
        var keptMessage = UserMessage(kept.Id, BaseTime, "stay");
        await Store.SaveMessageAsync(keptMessage);

        (await Store.DeleteSessionAsync(doomed.Id)).Should().BeTrue();

        (await Store.GetSessionAsync(doomed.Id)).Should().BeNull();
        (await Store.GetMessagesAsync(doomed.Id)).Should().BeEmpty();
        (await ListAsync(Store)).Select(static s => s.Id).Should().Equal(kept.Id);
        ShouldEqual(await Store.GetMessagesAsync(kept.Id), keptMessage);
    }

    /// <summary>Deleting an unknown session returns false.</summary>
    [Test]
    public async Task DeleteSessionAsync_Unknown_ReturnsFalse()
    {
        (await Store.DeleteSessionAsync(AgentCoreIds.NewSessionId())).Should().BeFalse();
    }

    /// <summary>A deleted session can be saved again, starting with no messages.</summary>
    [Test]
    public async Task DeleteSessionAsync_ThenSaveAgain_StartsEmpty()
    {
        var (session, _) = await SaveSessionWithMessageAsync("first life");
        await Store.DeleteSessionAsync(session.Id);

        await Store.SaveSessionAsync(session);
        var message = UserMessage(session.Id, BaseTime, "second life");
        await Store.SaveMessageAsync(message);

        ShouldEqual(await Store.GetMessagesAsync(session.Id), message);
    }

    // ---- messages ----

    /// <summary>A session without messages reads an empty list.</summary>
    [Test]
    public async Task GetMessagesAsync_NoMessages_ReturnsEmpty()
    {
        (await Store.GetMessagesAsync(AgentCoreIds.NewSessionId())).Should().BeEmpty();
    }

    /// <summary>A message holding every part type, with every field set, round-trips exactly.</summary>
    [Test]
    public async Task SaveMessageAsync_EveryPartType_RoundTrips()
    {
        var session = NewSession(BaseTime);
        await Store.SaveSessionAsync(session);
        var message = EveryPartMessage(session.Id, BaseTime);

        await Store.SaveMessageAsync(message);

        var read = await Store.GetMessagesAsync(session.Id);
        ShouldEqual(read, message);
        var parts = read[0].Parts;
        parts.Select(static p => p.GetType()).Should().Equal(message.Parts.Select(static p => p.GetType()));
        parts.OfType<FilePart>().First().Data.Should().Equal(message.Parts.OfType<FilePart>().First().Data);
        var tools = parts.OfType<ToolPart>().ToList();
        tools.Select(static t => t.State).Should().Equal(ToolState.Pending, ToolState.Running, ToolState.Completed, ToolState.Error);
        tools[2].Arguments!.Value.GetProperty("path").GetString().Should().Be("src/ä.cs");
        tools[2].Attachments.Should().HaveCount(2);
        tools[2].Compacted.Should().BeTrue();
        parts.OfType<StepFinishPart>().Single().Tokens.Should().Be(new TokenUsage(1000, 200, 50, 300, 40));
    }

    /// <summary>User and system messages with only the required fields round-trip, optional fields staying unset.</summary>
    [Test]
    public async Task SaveMessageAsync_MinimalMessages_RoundTrip()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var system = new SessionMessage { Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.System, CreatedAt = BaseTime };
        var user = UserMessage(sessionId, BaseTime, "hi");

        await Store.SaveMessageAsync(system);
        await Store.SaveMessageAsync(user);

        var read = await Store.GetMessagesAsync(sessionId);
        ShouldEqual(read, system, user);
        read[0].Parts.Should().BeEmpty();
        read[0].CompletedAt.Should().BeNull();
        read[0].Error.Should().BeNull();
        read[1].Role.Should().Be(ChatRole.User);
    }

    /// <summary>Saving a message again (by id) replaces it, with fewer parts as well as more.</summary>
    [Test]
    public async Task SaveMessageAsync_Existing_Replaces()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var message = EveryPartMessage(sessionId, BaseTime);
        await Store.SaveMessageAsync(message);
        var replacement = AssistantMessage(sessionId, message.Id, BaseTime);
        replacement.Parts.Add(new TextPart { Id = AgentCoreIds.NewPartId(), Text = "only this" });
        replacement.CompletedAt = BaseTime.AddSeconds(9);
        replacement.Error = new MessageError(MessageErrorKind.Aborted, "stopped");

        await Store.SaveMessageAsync(replacement);

        ShouldEqual(await Store.GetMessagesAsync(sessionId), replacement);
    }

    /// <summary>Messages read in ascending id order whatever order they were saved in, each session on its own.</summary>
    [Test]
    public async Task GetMessagesAsync_SavedOutOfOrder_AscendingById()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        string otherSessionId = AgentCoreIds.NewSessionId();
        var messages = Enumerable.Range(0, 12).Select(i => UserMessage(sessionId, BaseTime.AddSeconds(i), $"message {i}")).ToList();
        var other = UserMessage(otherSessionId, BaseTime, "elsewhere");
        await Store.SaveMessageAsync(other);
        foreach (int i in new[] { 5, 0, 11, 3, 7, 1, 10, 2, 9, 4, 8, 6 })
        {
            await Store.SaveMessageAsync(messages[i]);
        }

        ShouldEqual(await Store.GetMessagesAsync(sessionId), [.. messages]);
        ShouldEqual(await Store.GetMessagesAsync(otherSessionId), other);
    }

    // ---- parts ----

    /// <summary>
    /// The engine's write pattern: save the open assistant message, then each new or changed part as it streams,
    /// with text appended; afterwards the stored message equals the message in memory.
    /// </summary>
    [Test]
    public async Task SavePartAsync_StreamingTurn_StoredMessageEqualsMessage()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId, AgentCoreIds.NewMessageId(), BaseTime);
        await Store.SaveMessageAsync(message);

        var stepStart = new StepStartPart { Id = AgentCoreIds.NewPartId(), StartedAt = BaseTime.AddTicks(1) };
        await AddPartAsync(message, stepStart);
        var reasoning = new ReasoningPart { Id = AgentCoreIds.NewPartId(), Text = "Let me" };
        await AddPartAsync(message, reasoning);
        await AppendAsync(message, reasoning, " think.");
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "" };
        await AddPartAsync(message, text);
        foreach (string chunk in new[] { "Hel", "lo, ", "wörld 🌍", "!" })
        {
            await AppendAsync(message, text, chunk);
        }

        // Text appended to a part that is no longer the last one.
        await AppendAsync(message, reasoning, " Done.");

        var tool = new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "call_1", ToolName = "read", Arguments = Json("""{"path":"a.txt"}""") };
        await AddPartAsync(message, tool);
        tool.State = ToolState.Running;
        tool.StartedAt = BaseTime.AddSeconds(1);
        await Store.SavePartAsync(message, tool);
        tool.State = ToolState.Completed;
        tool.Output = "contents";
        tool.EndedAt = BaseTime.AddSeconds(2);
        await Store.SavePartAsync(message, tool);

        var finish = new StepFinishPart
        {
            Id = AgentCoreIds.NewPartId(), Tokens = new TokenUsage(10, 5, 1, 2, 3), Cost = 0.000042m, FinishReason = "stop", EndedAt = BaseTime.AddSeconds(3),
        };
        message.Tokens = finish.Tokens;
        message.Cost = finish.Cost;
        message.FinishReason = "stop";
        message.CompletedAt = BaseTime.AddSeconds(3);
        await AddPartAsync(message, finish);

        var read = await Store.GetMessagesAsync(sessionId);
        ShouldEqual(read, message);
        read[0].Parts.OfType<TextPart>().Single().Text.Should().Be("Hello, wörld 🌍!");
        read[0].Parts.OfType<ReasoningPart>().Single().Text.Should().Be("Let me think. Done.");
        read[0].CompletedAt.Should().Be(BaseTime.AddSeconds(3));
    }

    /// <summary>
    /// The engine's batched write pattern: the changes of a step saved together (a new step start and tool call, text
    /// appended to a stored part, an earlier tool call completed, the step's finish with the message's totals), then
    /// an empty batch that stores the message's own fields; afterwards the stored message equals the message.
    /// </summary>
    [Test]
    public async Task SavePartsAsync_StepsOfChanges_StoredMessageEqualsMessage()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId, AgentCoreIds.NewMessageId(), BaseTime);
        await Store.SaveMessageAsync(message);

        var firstStep = new StepStartPart { Id = AgentCoreIds.NewPartId(), StartedAt = BaseTime.AddTicks(1) };
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "Let me look" };
        var first = new ToolPart
        {
            Id = AgentCoreIds.NewPartId(), CallId = "call_1", ToolName = "read", Arguments = Json("""{"path":"a.txt"}"""),
            State = ToolState.Running, StartedAt = BaseTime.AddSeconds(1),
        };
        message.Parts.AddRange([firstStep, text, first]);
        await Store.SavePartsAsync(message, [new(firstStep), new(text), new(first)]);

        text.Text += " — and again";
        first.State = ToolState.Completed;
        first.Output = "contents";
        first.EndedAt = BaseTime.AddSeconds(2);
        var firstFinish = new StepFinishPart { Id = AgentCoreIds.NewPartId(), Tokens = new TokenUsage(10, 5, 0, 0, 0), Cost = 0.00001m, FinishReason = "tool_calls", EndedAt = BaseTime.AddSeconds(2) };
        var secondStep = new StepStartPart { Id = AgentCoreIds.NewPartId(), StartedAt = BaseTime.AddSeconds(2) };
        var second = new ToolPart
        {
            Id = AgentCoreIds.NewPartId(), CallId = "call_2", ToolName = "read", Arguments = Json("""{"path":"b.txt"}"""),
            State = ToolState.Running, StartedAt = BaseTime.AddSeconds(3),
        };
        message.Parts.AddRange([firstFinish, secondStep, second]);
        message.Tokens = firstFinish.Tokens;
        message.Cost = firstFinish.Cost;
        await Store.SavePartsAsync(message, [new(text, " — and again"), new(first), new(firstFinish), new(secondStep), new(second)]);
        ShouldEqual(await Store.GetMessagesAsync(sessionId), message);

        message.FinishReason = "stop";
        message.CompletedAt = BaseTime.AddSeconds(4);
        await Store.SavePartsAsync(message, []);

        var read = await Store.GetMessagesAsync(sessionId);
        ShouldEqual(read, message);
        read[0].Parts.OfType<TextPart>().Single().Text.Should().Be("Let me look — and again");
        read[0].Parts.OfType<ToolPart>().Select(t => t.State).Should().Equal(ToolState.Completed, ToolState.Running);
        read[0].CompletedAt.Should().Be(BaseTime.AddSeconds(4));
    }

    /// <summary>A batch is checked before anything is stored: a null list or part, a malformed part id, or a part named twice, names the argument.</summary>
    [Test]
    public async Task SavePartsAsync_BadChanges_ThrowsAndStoresNothing()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId, AgentCoreIds.NewMessageId(), BaseTime);
        await Store.SaveMessageAsync(message);
        var good = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "fine" };
        var bad = new TextPart { Id = "../escape", Text = "bad" };
        message.Parts.AddRange([good, bad]);

        await FluentActions.Awaiting(() => Store.SavePartsAsync(message, null!).AsTask())
            .Should().ThrowAsync<ArgumentNullException>().WithParameterName("changes");
        await FluentActions.Awaiting(() => Store.SavePartsAsync(message, [new(good), new(null!)]).AsTask())
            .Should().ThrowAsync<ArgumentNullException>().WithParameterName("changes");
        (await FluentActions.Awaiting(() => Store.SavePartsAsync(message, [new(good), new(bad)]).AsTask())
            .Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("../escape");
        (await FluentActions.Awaiting(() => Store.SavePartsAsync(message, [new(good), new(good, " again")]).AsTask())
            .Should().ThrowAsync<ArgumentException>().WithParameterName("changes")).Which.Message.Should().Contain(good.Id);

        (await Store.GetMessagesAsync(sessionId)).Single().Parts.Should().BeEmpty();
    }

    /// <summary>Saving a part also stores the message's own fields as they are now.</summary>
    [Test]
    public async Task SavePartAsync_MessageFieldsChanged_StoresThem()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId, AgentCoreIds.NewMessageId(), BaseTime);
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "partial" };
        message.Parts.Add(text);
        await Store.SaveMessageAsync(message);

        message.Error = new MessageError(MessageErrorKind.Api, "rate limited", 429);
        message.CompletedAt = BaseTime.AddSeconds(1);
        message.IsSummary = true;
        message.SummarizedThrough = AgentCoreIds.NewMessageId();
        text.Text += " and more";
        await Store.SavePartAsync(message, text, " and more");

        ShouldEqual(await Store.GetMessagesAsync(sessionId), message);
    }

    /// <summary>Saving an unchanged part twice does not duplicate it, and parts of other messages are untouched.</summary>
    [Test]
    public async Task SavePartAsync_SamePartTwice_NoDuplicate()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var first = UserMessage(sessionId, BaseTime, "first");
        var second = AssistantMessage(sessionId, AgentCoreIds.NewMessageId(), BaseTime);
        await Store.SaveMessageAsync(first);
        await Store.SaveMessageAsync(second);
        var part = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "once" };
        second.Parts.Add(part);

        await Store.SavePartAsync(second, part);
        await Store.SavePartAsync(second, part);

        ShouldEqual(await Store.GetMessagesAsync(sessionId), first, second);
    }

    /// <summary>A megabyte of text streamed in appends ends up whole.</summary>
    [Test]
    public async Task SavePartAsync_MegabyteAppendedInChunks_StoredWhole()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId, AgentCoreIds.NewMessageId(), BaseTime);
        await Store.SaveMessageAsync(message);
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "" };
        await AddPartAsync(message, text);
        string megabyte = MegabyteOfText();

        const int Chunk = 16 * 1024;
        int offset = 0;
        while (offset < megabyte.Length)
        {
            int length = Math.Min(Chunk, megabyte.Length - offset);
            if (offset + length < megabyte.Length && char.IsHighSurrogate(megabyte[offset + length - 1]))
            {
                length--; // Streams never split a surrogate pair.
            }

            await AppendAsync(message, text, megabyte.Substring(offset, length));
            offset += length;
        }

        var read = await Store.GetMessagesAsync(sessionId);
        read.Should().ContainSingle();
        read[0].Parts.OfType<TextPart>().Single().Text.Should().Be(megabyte);
    }

    // ---- size, text and concurrency ----

    /// <summary>A message with a megabyte of text and a megabyte of binary data round-trips.</summary>
    [Test]
    public async Task SaveMessageAsync_OneMegabyte_RoundTrips()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var data = new byte[1024 * 1024];
        new Random(42).NextBytes(data);
        var message = UserMessage(sessionId, BaseTime, MegabyteOfText());
        message.Parts.Add(new FilePart { Id = AgentCoreIds.NewPartId(), MediaType = "application/octet-stream", Name = "blob.bin", Data = data });

        await Store.SaveMessageAsync(message);

        var read = await Store.GetMessagesAsync(sessionId);
        ShouldEqual(read, message);
        read[0].Parts.OfType<FilePart>().Single().Data.Should().Equal(data);
    }

    /// <summary>Emoji, CJK, right-to-left and combining text, and control characters round-trip in sessions and messages.</summary>
    [Test]
    public async Task SaveAsync_NonAsciiText_RoundTrips()
    {
        const string Mixed = "👩‍👩‍👧‍👦 🇳🇴 😀 漢字かなカナ 한국어 עברית‏ العربية؜ e\u0301 Ω ≠ ∞";
        const string Controls = "tab\tnew\nline\r\0nul\u0001\u001f\u007f\u2028\u2029\ufeff end";
        var session = NewSession(BaseTime) with
        {
            Title = Mixed,
            Metadata = new Dictionary<string, string> { ["ключ 🔑"] = Mixed, ["rtl"] = "مرحبا بالعالم" },
        };
        await Store.SaveSessionAsync(session);
        var message = AssistantMessage(session.Id, AgentCoreIds.NewMessageId(), BaseTime);
        message.Parts.Add(new TextPart { Id = AgentCoreIds.NewPartId(), Text = Mixed + Controls });
        message.Parts.Add(new ReasoningPart { Id = AgentCoreIds.NewPartId(), Text = Controls + Mixed });
        message.Parts.Add(new ToolPart
        {
            Id = AgentCoreIds.NewPartId(), CallId = "call_ü", ToolName = "write", State = ToolState.Completed,
            Arguments = Json("""{"text":"日本語 \u0000 🎉","nested":{"רשימה":[1,2.50,"א"]}}"""), Output = Controls + Mixed,
        });
        message.Parts.Add(new FilePart { Id = AgentCoreIds.NewPartId(), MediaType = "text/plain", Name = "报告 📄.txt", Uri = "file:///tmp/%E6%8A%A5%E5%91%8A.txt" });
        await Store.SaveMessageAsync(message);
        var appended = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "" };
        await AddPartAsync(message, appended);
        await AppendAsync(message, appended, Mixed);
        await AppendAsync(message, appended, Controls);

        (await Store.GetSessionAsync(session.Id)).Should().BeEquivalentTo(session);
        (await ListAsync(Store)).Single().Title.Should().Be(Mixed);
        var read = await Store.GetMessagesAsync(session.Id);
        ShouldEqual(read, message);
        read[0].Parts.OfType<TextPart>().Last().Text.Should().Be(Mixed + Controls);
    }

    /// <summary>Many tasks (through two store instances when the store has them) writing messages, parts and sessions at once lose nothing.</summary>
    [Test]
    public async Task SaveAsync_ConcurrentWriters_NoneLost()
    {
        const int Writers = 8;
        const int MessagesEach = 25;
        var second = CreateStoreOnSameData() is { } other ? Track(other) : Store;
        string sharedSession = AgentCoreIds.NewSessionId();
        var written = new SessionMessage[Writers][];
        var sessions = new SessionInfo[Writers];
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var store = w % 2 == 0 ? Store : second;
            await start.Task;
            sessions[w] = NewSession(BaseTime.AddSeconds(w));
            await store.SaveSessionAsync(sessions[w]);
            written[w] = new SessionMessage[MessagesEach];
            for (int m = 0; m < MessagesEach; m++)
            {
                var message = AssistantMessage(sharedSession, AgentCoreIds.NewMessageId(), BaseTime.AddSeconds(m));
                await store.SaveMessageAsync(message);
                var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = $"writer {w}" };
                message.Parts.Add(text);
                await store.SavePartAsync(message, text);
                text.Text += $" message {m}";
                await store.SavePartAsync(message, text, $" message {m}");
                written[w][m] = message;
            }
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(writers);

        var expected = written.SelectMany(static w => w).OrderBy(static m => m.Id, StringComparer.Ordinal).ToArray();
        ShouldEqual(await Store.GetMessagesAsync(sharedSession), expected);
        ShouldEqual(await second.GetMessagesAsync(sharedSession), expected);
        (await ListAsync(Store)).Select(static s => s.Id).Should().BeEquivalentTo(sessions.Select(static s => s.Id));
    }

    // ---- invalid ids ----

    /// <summary>Every method rejects a malformed session id with an <see cref="ArgumentException"/> naming it, and stores nothing.</summary>
    [Test]
    public async Task AllMethods_InvalidSessionId_ThrowArgumentExceptionNamingTheValue()
    {
        foreach (string bad in BadIds("ses_", "msg_"))
        {
            await ShouldRejectAsync(bad, () => Store.GetSessionAsync(bad).AsTask());
            await ShouldRejectAsync(bad, () => Store.DeleteSessionAsync(bad).AsTask());
            await ShouldRejectAsync(bad, () => Store.GetMessagesAsync(bad).AsTask());
            await ShouldRejectAsync(bad, () => Store.SaveSessionAsync(NewSession(BaseTime) with { Id = bad }).AsTask());
            var message = UserMessage(bad, BaseTime, "x");
            await ShouldRejectAsync(bad, () => Store.SaveMessageAsync(message).AsTask());
            await ShouldRejectAsync(bad, () => Store.SavePartAsync(message, message.Parts[0]).AsTask());
            await ShouldRejectAsync(bad, () => Store.SavePartAsync(message, message.Parts[0], "x").AsTask());
        }

        (await ListAsync(Store)).Should().BeEmpty();
    }

    /// <summary>Saving a message or part with a malformed message id or part id is an <see cref="ArgumentException"/> naming it.</summary>
    [Test]
    public async Task SaveMessageAndPart_InvalidMessageOrPartId_ThrowArgumentExceptionNamingTheValue()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        foreach (string bad in BadIds("msg_", "prt_"))
        {
            var message = UserMessage(sessionId, BaseTime, "x");
            message.Id = bad;
            await ShouldRejectAsync(bad, () => Store.SaveMessageAsync(message).AsTask());
            await ShouldRejectAsync(bad, () => Store.SavePartAsync(message, message.Parts[0]).AsTask());
        }

        var stored = UserMessage(sessionId, BaseTime, "x");
        await Store.SaveMessageAsync(stored);
        foreach (string bad in BadIds("prt_", "msg_"))
        {
            var part = new TextPart { Id = bad, Text = "y" };
            var message = UserMessage(sessionId, BaseTime, "x");
            message.Id = stored.Id;
            message.Parts.Add(part);
            await ShouldRejectAsync(bad, () => Store.SavePartAsync(message, part).AsTask());
            await ShouldRejectAsync(bad, () => Store.SavePartAsync(message, part, "y").AsTask());
        }

        ShouldEqual(await Store.GetMessagesAsync(sessionId), stored);
    }

    /// <summary>Null arguments are <see cref="ArgumentNullException"/>s.</summary>
    [Test]
    public async Task AllMethods_NullArguments_ThrowArgumentNullException()
    {
        var message = UserMessage(AgentCoreIds.NewSessionId(), BaseTime, "x");
        await FluentActions.Awaiting(() => Store.GetSessionAsync(null!).AsTask()).Should().ThrowAsync<ArgumentNullException>();
        await FluentActions.Awaiting(() => Store.DeleteSessionAsync(null!).AsTask()).Should().ThrowAsync<ArgumentNullException>();
        await FluentActions.Awaiting(() => Store.GetMessagesAsync(null!).AsTask()).Should().ThrowAsync<ArgumentNullException>();
        await FluentActions.Awaiting(() => Store.SaveSessionAsync(null!).AsTask()).Should().ThrowAsync<ArgumentNullException>();
        await FluentActions.Awaiting(() => Store.SaveMessageAsync(null!).AsTask()).Should().ThrowAsync<ArgumentNullException>();
        await FluentActions.Awaiting(() => Store.SavePartAsync(null!, message.Parts[0]).AsTask()).Should().ThrowAsync<ArgumentNullException>();
        await FluentActions.Awaiting(() => Store.SavePartAsync(message, null!).AsTask()).Should().ThrowAsync<ArgumentNullException>();
    }

    // ---- corrupt data ----

    /// <summary>A corrupt session reads as null and is left out of the listing; the other sessions are listed.</summary>
    [Test]
    public async Task GetAndListSessions_CorruptSession_SkippedOthersRead()
    {
        var corrupt = NewSession(BaseTime);
        var good = NewSession(BaseTime.AddSeconds(1));
        await Store.SaveSessionAsync(corrupt);
        await Store.SaveSessionAsync(good);
        if (!await CorruptSessionAsync(Store, corrupt.Id))
        {
            Assert.Ignore($"{Store.GetType().Name}: the fixture does not override CorruptSessionAsync (the store cannot hold a corrupt session).");
        }

        (await Store.GetSessionAsync(corrupt.Id)).Should().BeNull();
        (await ListAsync(Store)).Should().ContainSingle().Which.Should().BeEquivalentTo(good);
        (await Store.GetSessionAsync(good.Id)).Should().BeEquivalentTo(good);
    }

    /// <summary>A corrupt message is skipped; the session's other messages read back intact.</summary>
    [Test]
    public async Task GetMessagesAsync_CorruptMessage_SkippedOthersRead()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var before = UserMessage(sessionId, BaseTime, "before");
        var corrupt = EveryPartMessage(sessionId, BaseTime);
        var after = UserMessage(sessionId, BaseTime, "after");
        await Store.SaveMessageAsync(before);
        await Store.SaveMessageAsync(corrupt);
        await Store.SaveMessageAsync(after);
        if (!await CorruptMessageAsync(Store, sessionId, corrupt.Id))
        {
            Assert.Ignore($"{Store.GetType().Name}: the fixture does not override CorruptMessageAsync (the store cannot hold a corrupt message).");
        }

        ShouldEqual(await Store.GetMessagesAsync(sessionId), before, after);
    }

    // ---- records of every bad shape ----

    /// <summary>Every <see cref="SessionRecordDamage"/>.</summary>
    protected static IEnumerable<SessionRecordDamage> SessionDamages => Enum.GetValues<SessionRecordDamage>();

    /// <summary>Every <see cref="MessageRecordDamage"/>.</summary>
    protected static IEnumerable<MessageRecordDamage> MessageDamages => Enum.GetValues<MessageRecordDamage>();

    /// <summary>Whether <paramref name="damage"/> spoils one part (the message is read without it) rather than the message's own fields.</summary>
    /// <param name="damage">The damage.</param>
    /// <returns>True for a part damage.</returns>
    protected static bool IsPartDamage(MessageRecordDamage damage) => damage >= MessageRecordDamage.NullPart;

    /// <summary>A session whose record is damaged in any way reads as null and is left out of the listing; the others are served.</summary>
    [TestCaseSource(nameof(SessionDamages))]
    public async Task GetAndListSessions_DamagedSession_SkippedOthersRead(SessionRecordDamage damage)
    {
        var damaged = NewSession(BaseTime) with { Metadata = new Dictionary<string, string> { ["owner"] = "ada" } };
        var good = NewSession(BaseTime.AddSeconds(1));
        await Store.SaveSessionAsync(damaged);
        await Store.SaveSessionAsync(good);
        if (!await DamageSessionAsync(Store, damaged, damage))
        {
            Assert.Ignore($"{Store.GetType().Name}: the fixture cannot store a session damaged as {damage} (DamageSessionAsync returned false).");
        }

        (await Store.GetSessionAsync(damaged.Id)).Should().BeNull();
        (await ListAsync(Store)).Should().ContainSingle().Which.Should().BeEquivalentTo(good);
        (await Store.GetSessionAsync(good.Id)).Should().BeEquivalentTo(good);
    }

    /// <summary>
    /// A message whose own fields are damaged in any way is skipped and the others are served; a damaged part is skipped and
    /// its message served with its other parts; and the session takes new messages afterwards.
    /// </summary>
    [TestCaseSource(nameof(MessageDamages))]
    public async Task GetMessagesAsync_DamagedRecord_SkippedRestRead(MessageRecordDamage damage)
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var before = UserMessage(sessionId, BaseTime, "before");
        var damaged = EveryPartMessage(sessionId, BaseTime);
        var after = UserMessage(sessionId, BaseTime, "after");
        await Store.SaveMessageAsync(before);
        await Store.SaveMessageAsync(damaged);
        await Store.SaveMessageAsync(after);
        var part = damaged.Parts.OfType<ToolPart>().First(static t => t.State == ToolState.Completed);
        if (!await DamageMessageAsync(Store, damaged, part, damage))
        {
            Assert.Ignore($"{Store.GetType().Name}: the fixture cannot store a message damaged as {damage} (DamageMessageAsync returned false).");
        }

        var expected = new List<SessionMessage> { before };
        if (IsPartDamage(damage))
        {
            var withoutPart = JsonSerializer.Deserialize<SessionMessage>(ToJson(damaged), AgentCoreJson.Options)!;
            withoutPart.Parts.RemoveAll(p => p.Id == part.Id);
            expected.Add(withoutPart);
        }

        expected.Add(after);
        ShouldEqual(await Store.GetMessagesAsync(sessionId), [.. expected]);

        var later = UserMessage(sessionId, BaseTime, "later");
        await Store.SaveMessageAsync(later);
        ShouldEqual(await Store.GetMessagesAsync(sessionId), [.. expected, later]);
    }

    /// <summary>Listing order is by creation: a later update does not move a session up.</summary>
    [Test]
    public async Task ListSessionsAsync_OlderSessionUpdatedLater_StillListedByCreation()
    {
        var older = NewSession(BaseTime);
        var newer = NewSession(BaseTime.AddHours(1));
        await Store.SaveSessionAsync(older);
        await Store.SaveSessionAsync(newer);

        await Store.SaveSessionAsync(older with { UpdatedAt = BaseTime.AddDays(1), Title = "renamed" });

        (await ListAsync(Store)).Select(s => s.Id).Should().Equal(newer.Id, older.Id);
    }

    /// <summary>Deleting reports whether there was something to delete, every time.</summary>
    [Test]
    public async Task DeleteSessionAsync_Twice_TrueThenFalse()
    {
        var (session, _) = await SaveSessionWithMessageAsync("hello");

        (await Store.DeleteSessionAsync(session.Id)).Should().BeTrue();
        (await Store.DeleteSessionAsync(session.Id)).Should().BeFalse();
    }

    /// <summary><see cref="ISessionStore.DeleteMessagesAsync"/> deletes exactly the listed messages of that session, parts included.</summary>
    [Test]
    public async Task DeleteMessagesAsync_SomeMessages_RemovesOnlyThose()
    {
        var session = NewSession(BaseTime);
        var other = NewSession(BaseTime.AddSeconds(1));
        await Store.SaveSessionAsync(session);
        await Store.SaveSessionAsync(other);
        var first = UserMessage(session.Id, BaseTime, "keep me");
        var second = EveryPartMessage(session.Id, BaseTime.AddSeconds(1));
        var third = UserMessage(session.Id, BaseTime.AddSeconds(2), "delete me too");
        var fourth = UserMessage(session.Id, BaseTime.AddSeconds(3), "keep me as well");
        var elsewhere = UserMessage(other.Id, BaseTime, "another session");
        elsewhere.Id = second.Id; // the same message id in another session is another message
        foreach (var message in new[] { first, second, third, fourth, elsewhere })
        {
            await Store.SaveMessageAsync(message);
        }

        int deleted = await Store.DeleteMessagesAsync(session.Id, [second.Id, third.Id, AgentCoreIds.NewMessageId()]);

        deleted.Should().Be(2, "two of the three ids name stored messages");
        ShouldEqual(await Store.GetMessagesAsync(session.Id), first, fourth);
        ShouldEqual(await Store.GetMessagesAsync(other.Id), elsewhere);
        (await Store.GetSessionAsync(session.Id)).Should().BeEquivalentTo(session);
    }

    /// <summary>Deleting nothing, or messages of a session that has none, deletes nothing.</summary>
    [Test]
    public async Task DeleteMessagesAsync_EmptyOrUnknown_ReturnsZero()
    {
        var (session, message) = await SaveSessionWithMessageAsync("hello");

        (await Store.DeleteMessagesAsync(session.Id, [])).Should().Be(0);
        (await Store.DeleteMessagesAsync(AgentCoreIds.NewSessionId(), [message.Id])).Should().Be(0);

        ShouldEqual(await Store.GetMessagesAsync(session.Id), message);
    }

    /// <summary>A deleted message can be saved again, and a later save after a delete is read back.</summary>
    [Test]
    public async Task DeleteMessagesAsync_ThenNewMessages_ReadsTheNewOnes()
    {
        var (session, doomed) = await SaveSessionWithMessageAsync("reverted");

        await Store.DeleteMessagesAsync(session.Id, [doomed.Id]);
        var next = UserMessage(session.Id, BaseTime.AddSeconds(1), "the next turn");
        await Store.SaveMessageAsync(next);

        ShouldEqual(await Store.GetMessagesAsync(session.Id), next);
    }

    /// <summary>A malformed session or message id is rejected, naming it, and nothing is deleted.</summary>
    [Test]
    public async Task DeleteMessagesAsync_InvalidIds_ThrowArgumentExceptionNamingTheValue()
    {
        var (session, message) = await SaveSessionWithMessageAsync("hello");

        foreach (string bad in BadIds("ses_", "msg_"))
        {
            await ShouldRejectAsync(bad, () => Store.DeleteMessagesAsync(bad, [message.Id]).AsTask());
        }

        foreach (string bad in BadIds("msg_", "ses_"))
        {
            await ShouldRejectAsync(bad, () => Store.DeleteMessagesAsync(session.Id, [message.Id, bad]).AsTask());
        }

        await FluentActions.Awaiting(() => Store.DeleteMessagesAsync(session.Id, null!).AsTask()).Should().ThrowAsync<ArgumentNullException>();
        ShouldEqual(await Store.GetMessagesAsync(session.Id), message);
    }

    /// <summary>The messages of two sessions never mix.</summary>
    [Test]
    public async Task SaveMessageAsync_TwoSessions_KeptApart()
    {
        var a = NewSession(BaseTime);
        var b = NewSession(BaseTime.AddSeconds(1));
        await Store.SaveSessionAsync(a);
        await Store.SaveSessionAsync(b);

        await Store.SaveMessageAsync(UserMessage(a.Id, BaseTime, "for a"));
        await Store.SaveMessageAsync(UserMessage(b.Id, BaseTime, "for b"));

        (await Store.GetMessagesAsync(a.Id)).Select(m => m.Text).Should().Equal("for a");
        (await Store.GetMessagesAsync(b.Id)).Select(m => m.Text).Should().Equal("for b");
    }

    /// <summary>What a caller reads (or saved) is a copy: changing it afterwards changes nothing stored.</summary>
    [Test]
    public async Task GetMessagesAsync_CallerChangesItsObjects_StoreUnchanged()
    {
        var (session, message) = await SaveSessionWithMessageAsync("original");
        ((TextPart)message.Parts[0]).Text = "changed after saving";

        var read = (await Store.GetMessagesAsync(session.Id))[0];
        ((TextPart)read.Parts[0]).Text = "changed after reading";

        (await Store.GetMessagesAsync(session.Id))[0].Text.Should().Be("original");
    }

    /// <summary>Many tasks saving (and re-saving) sessions at once: every session listed, with its last write.</summary>
    [Test]
    public async Task SaveSessionAsync_ManyTasksAtOnce_AllListedWithTheirLastWrite()
    {
        var sessions = Enumerable.Range(0, 200).Select(i => NewSession(BaseTime.AddSeconds(i))).ToList();

        await Task.WhenAll(sessions.Chunk(25).Select(chunk => Task.Run(async () =>
        {
            foreach (var session in chunk)
            {
                await Store.SaveSessionAsync(session);
                await Store.SaveSessionAsync(session with { Title = session.Id });
            }
        })));

        var listed = await ListAsync(Store);
        listed.Select(s => s.Id).Should().Equal(sessions.AsEnumerable().Reverse().Select(s => s.Id));
        listed.Should().OnlyContain(s => s.Title == s.Id);
    }

    /// <summary>Saves a new session created at <see cref="BaseTime"/> and, in it, a user message saying <paramref name="text"/>.</summary>
    /// <param name="text">The message's text.</param>
    /// <returns>The session and the message, as saved.</returns>
    private async Task<(SessionInfo Session, SessionMessage Message)> SaveSessionWithMessageAsync(string text)
    {
        var session = NewSession(BaseTime);
        await Store.SaveSessionAsync(session);
        var message = UserMessage(session.Id, BaseTime, text);
        await Store.SaveMessageAsync(message);
        return (session, message);
    }

    // ---- helpers for derived fixtures ----

    /// <summary>A new session created at <paramref name="createdAt"/>, with the default title.</summary>
    /// <param name="createdAt">The creation and update time.</param>
    /// <returns>The session (not stored).</returns>
    protected static SessionInfo NewSession(DateTimeOffset createdAt) => new()
    {
        Id = AgentCoreIds.NewSessionId(),
        Title = SessionInfo.DefaultTitlePrefix + createdAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        CreatedAt = createdAt,
        UpdatedAt = createdAt,
    };

    /// <summary>A completed user message with one text part.</summary>
    /// <param name="sessionId">The message's session.</param>
    /// <param name="createdAt">The creation and completion time.</param>
    /// <param name="text">The message's text.</param>
    /// <returns>The message (not stored).</returns>
    protected static SessionMessage UserMessage(string sessionId, DateTimeOffset createdAt, string text) => new()
    {
        Id = AgentCoreIds.NewMessageId(),
        SessionId = sessionId,
        Role = ChatRole.User,
        CreatedAt = createdAt,
        CompletedAt = createdAt,
        Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = text }],
    };

    /// <summary>An open assistant message with no parts.</summary>
    /// <param name="sessionId">The message's session.</param>
    /// <param name="messageId">The message's id.</param>
    /// <param name="createdAt">The creation time.</param>
    /// <returns>The message (not stored).</returns>
    protected static SessionMessage AssistantMessage(string sessionId, string messageId, DateTimeOffset createdAt) => new()
    {
        Id = messageId,
        SessionId = sessionId,
        Role = ChatRole.Assistant,
        CreatedAt = createdAt,
        ProviderId = "scripted",
        ModelId = "model-1",
    };

    /// <summary>A completed assistant message with every field set and every part type, tool parts in every state.</summary>
    /// <param name="sessionId">The message's session.</param>
    /// <param name="createdAt">The creation time.</param>
    /// <returns>The message (not stored).</returns>
    protected static SessionMessage EveryPartMessage(string sessionId, DateTimeOffset createdAt)
    {
        var bytes = Enumerable.Range(0, 256).Select(static i => (byte)i).ToArray();
        var message = AssistantMessage(sessionId, AgentCoreIds.NewMessageId(), createdAt);
        message.CompletedAt = createdAt.AddSeconds(30).AddTicks(7);
        message.Tokens = new TokenUsage(1000, 200, 50, 300, 40);
        message.Cost = 0.001234567m;
        message.FinishReason = "stop";
        message.Error = new MessageError(MessageErrorKind.Api, "overloaded", 529);
        message.IsSummary = true;
        message.SummarizedThrough = AgentCoreIds.NewMessageId();
        message.Parts =
        [
            new StepStartPart { Id = AgentCoreIds.NewPartId(), StartedAt = createdAt.AddTicks(1) },
            new ReasoningPart { Id = AgentCoreIds.NewPartId(), Text = "First, read the file." },
            new TextPart { Id = AgentCoreIds.NewPartId(), Text = "Reading it now." },
            new FilePart { Id = AgentCoreIds.NewPartId(), MediaType = "image/png", Name = "every-byte.png", Data = bytes },
            new FilePart { Id = AgentCoreIds.NewPartId(), MediaType = "application/pdf", Uri = "https://example.com/a%20b.pdf?x=1&y=2" },
            new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "call_pending", ToolName = "list", Arguments = Json("{}") },
            new ToolPart
            {
                Id = AgentCoreIds.NewPartId(), CallId = "call_running", ToolName = "grep", State = ToolState.Running,
                Arguments = Json("""{"pattern":"a.*b","flags":["i","m"],"limit":10,"exact":1.50,"none":null,"yes":true}"""),
                StartedAt = createdAt.AddSeconds(1),
            },
            new ToolPart
            {
                Id = AgentCoreIds.NewPartId(), CallId = "call_done", ToolName = "read", State = ToolState.Completed,
                Arguments = Json("""{ "path" : "src/ä.cs", "range": {"from": 1, "to": 2e3} }"""),
                Output = "line 1\nline 2", StartedAt = createdAt.AddSeconds(2), EndedAt = createdAt.AddSeconds(3).AddTicks(9), Compacted = true,
                Attachments =
                [
                    new FilePart { Id = AgentCoreIds.NewPartId(), MediaType = "image/jpeg", Data = [0xff, 0xd8, 0x00, 0xd9] },
                    new FilePart { Id = AgentCoreIds.NewPartId(), MediaType = "audio/wav", Name = "a.wav", Uri = "file:///tmp/a.wav" },
                ],
            },
            new ToolPart
            {
                Id = AgentCoreIds.NewPartId(), CallId = "call_error", ToolName = "write", State = ToolState.Error,
                RawArguments = "{\"path\": unterminated", Error = "The arguments are not valid JSON.",
                StartedAt = createdAt.AddSeconds(4), EndedAt = createdAt.AddSeconds(4),
            },
            new StepFinishPart
            {
                Id = AgentCoreIds.NewPartId(), Tokens = new TokenUsage(1000, 200, 50, 300, 40), Cost = 0.001234567m,
                FinishReason = "tool_calls", EndedAt = createdAt.AddSeconds(5),
            },
        ];
        return message;
    }

    /// <summary>The AgentCore JSON of <paramref name="session"/>, damaged as <paramref name="damage"/> says.</summary>
    /// <param name="session">The session.</param>
    /// <param name="damage">The damage to make.</param>
    /// <returns>The damaged JSON.</returns>
    protected static string DamagedSessionJson(SessionInfo session, SessionRecordDamage damage)
    {
        var node = JsonNode.Parse(JsonSerializer.Serialize(session, AgentCoreJson.Options))!.AsObject();
        switch (damage)
        {
            case SessionRecordDamage.Truncated:
                string json = node.ToJsonString();
                return json[..(json.Length / 2)];
            case SessionRecordDamage.NotAnObject:
                return "[" + node.ToJsonString() + "]";
            case SessionRecordDamage.MissingId:
                node.Remove("id");
                break;
            case SessionRecordDamage.MalformedId:
                node["id"] = "ses_../../etc/passwd";
                break;
            case SessionRecordDamage.AnotherSessionsId:
                node["id"] = AgentCoreIds.NewSessionId();
                break;
            case SessionRecordDamage.MissingTitle:
                node.Remove("title");
                break;
            case SessionRecordDamage.NullTitle:
                node["title"] = null;
                break;
            case SessionRecordDamage.TitleOfWrongType:
                node["title"] = 42;
                break;
            case SessionRecordDamage.BadCreatedAt:
                node["createdAt"] = "yesterday";
                break;
            case SessionRecordDamage.CreatedAtOfWrongType:
                node["createdAt"] = 42;
                break;
            case SessionRecordDamage.TokensOfWrongType:
                node["tokens"] = "many";
                break;
            case SessionRecordDamage.NegativeTokens:
                node["tokens"] = new JsonObject { ["input"] = -5 };
                break;
            case SessionRecordDamage.NullMetadataValue:
                node["metadata"] = new JsonObject { ["owner"] = null };
                break;
            case SessionRecordDamage.MetadataOfWrongType:
                node["metadata"] = new JsonArray(1, 2);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(damage), damage, "Not a session damage.");
        }

        return node.ToJsonString();
    }

    /// <summary>
    /// The AgentCore JSON of <paramref name="message"/> (parts included), damaged as <paramref name="damage"/> says: part
    /// damages spoil the part with id <paramref name="partId"/> (see <see cref="DamagedPartJson"/>).
    /// </summary>
    /// <param name="message">The message.</param>
    /// <param name="partId">The part the part damages spoil.</param>
    /// <param name="damage">The damage to make.</param>
    /// <returns>The damaged JSON.</returns>
    protected static string DamagedMessageJson(SessionMessage message, string partId, MessageRecordDamage damage)
    {
        var node = JsonNode.Parse(ToJson(message))!.AsObject();
        if (IsPartDamage(damage))
        {
            var parts = node["parts"]!.AsArray();
            int index = message.Parts.FindIndex(p => p.Id == partId);
            var part = parts[index]!;
            parts[index] = DamagedPart(part.AsObject(), damage);
            return node.ToJsonString();
        }

        switch (damage)
        {
            case MessageRecordDamage.Truncated:
                string json = node.ToJsonString();
                return json[..(json.Length / 2)];
            case MessageRecordDamage.MissingId:
                node.Remove("id");
                break;
            case MessageRecordDamage.MalformedId:
                node["id"] = "msg_../../etc/passwd";
                break;
            case MessageRecordDamage.MissingRole:
                node.Remove("role");
                break;
            case MessageRecordDamage.BlankRole:
                node["role"] = "";
                break;
            case MessageRecordDamage.WhiteSpaceRole:
                node["role"] = "  ";
                break;
            case MessageRecordDamage.NullRole:
                node["role"] = null;
                break;
            case MessageRecordDamage.RoleOfWrongType:
                node["role"] = 5;
                break;
            case MessageRecordDamage.MissingCreatedAt:
                node.Remove("createdAt");
                break;
            case MessageRecordDamage.BadCreatedAt:
                node["createdAt"] = "yesterday";
                break;
            case MessageRecordDamage.CreatedAtOfWrongType:
                node["createdAt"] = true;
                break;
            case MessageRecordDamage.TokensOfWrongType:
                node["tokens"] = "many";
                break;
            case MessageRecordDamage.NegativeTokens:
                node["tokens"] = new JsonObject { ["input"] = -5 };
                break;
            case MessageRecordDamage.PartsOfWrongType:
                node["parts"] = "none";
                break;
            case MessageRecordDamage.BadError:
                node["error"] = "boom";
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(damage), damage, "Not a message damage.");
        }

        return node.ToJsonString();
    }

    /// <summary>The AgentCore JSON of <paramref name="part"/> (a tool part), damaged as a part damage <paramref name="damage"/> says.</summary>
    /// <param name="part">The tool part.</param>
    /// <param name="damage">A part damage.</param>
    /// <returns>The damaged JSON (the JSON literal <c>null</c> for <see cref="MessageRecordDamage.NullPart"/>).</returns>
    protected static string DamagedPartJson(MessagePart part, MessageRecordDamage damage)
    {
        var node = JsonNode.Parse(JsonSerializer.Serialize(part, AgentCoreJson.Options))!.AsObject();
        return DamagedPart(node, damage)?.ToJsonString() ?? "null";
    }

    private static JsonObject? DamagedPart(JsonObject part, MessageRecordDamage damage)
    {
        var copy = JsonNode.Parse(part.ToJsonString())!.AsObject();
        switch (damage)
        {
            case MessageRecordDamage.NullPart:
                return null;
            case MessageRecordDamage.UnknownPartType:
                copy["type"] = "hologram";
                break;
            case MessageRecordDamage.PartMissingType:
                copy.Remove("type");
                break;
            case MessageRecordDamage.PartMissingId:
                copy.Remove("id");
                break;
            case MessageRecordDamage.PartFieldOfWrongType:
                copy["callId"] = 5;
                break;
            case MessageRecordDamage.PartNullField:
                copy["toolName"] = null;
                break;
            case MessageRecordDamage.PartStateOutOfRange:
                copy["state"] = 42;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(damage), damage, "Not a part damage.");
        }

        return copy;
    }

    /// <summary>Parses <paramref name="json"/> into a standalone <see cref="JsonElement"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The parsed element.</returns>
    protected static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>Reads a whole listing.</summary>
    /// <param name="store">The store to list.</param>
    /// <returns>Every session, in the store's order.</returns>
    protected static async Task<List<SessionInfo>> ListAsync(ISessionStore store)
    {
        var sessions = new List<SessionInfo>();
        await foreach (var session in store.ListSessionsAsync())
        {
            sessions.Add(session);
        }

        return sessions;
    }

    /// <summary>Asserts that <paramref name="actual"/> holds exactly <paramref name="expected"/>, in order, field for field (compared as AgentCore JSON).</summary>
    /// <param name="actual">The messages read.</param>
    /// <param name="expected">The messages expected.</param>
    protected static void ShouldEqual(IReadOnlyList<SessionMessage> actual, params SessionMessage[] expected)
    {
        actual.Select(ToJson).Should().Equal(expected.Select(ToJson));
    }

    private static string ToJson(SessionMessage message) => JsonSerializer.Serialize(message, AgentCoreJson.Options);

    private ISessionStore Track(ISessionStore store)
    {
        _created.Add(store);
        return store;
    }

    private async Task AddPartAsync(SessionMessage message, MessagePart part)
    {
        message.Parts.Add(part);
        await Store.SavePartAsync(message, part);
    }

    private async Task AppendAsync(SessionMessage message, MessagePart part, string appended)
    {
        switch (part)
        {
            case TextPart text:
                text.Text += appended;
                break;
            case ReasoningPart reasoning:
                reasoning.Text += appended;
                break;
        }

        await Store.SavePartAsync(message, part, appended);
    }

    private static async Task ShouldRejectAsync(string bad, Func<Task> act)
    {
        var thrown = await act.Should().ThrowAsync<ArgumentException>($"'{bad}' is not a valid id");
        var exception = thrown.Which;
        exception.ParamName.Should().NotBeNullOrEmpty();
        if (bad.Length > 0)
        {
            exception.Message.Should().Contain(bad, "the exception must name the rejected value");
        }
    }

    private static IEnumerable<string> BadIds(string prefix, string otherPrefix) =>
    [
        "",
        " ",
        prefix,
        otherPrefix + "abc",
        prefix.ToUpperInvariant() + "abc",
        prefix + "../../etc/passwd",
        "../" + prefix + "abc",
        prefix + "a/b",
        prefix + "a\\b",
        prefix + "a b",
        prefix + "a.b",
        prefix + "é",
        prefix + "abc'; DROP TABLE sessions; --",
        prefix + new string('a', 61),
    ];

    private static string MegabyteOfText()
    {
        var builder = new StringBuilder(1024 * 1024);
        int bytes = 0;
        for (int line = 0; bytes < 1024 * 1024; line++)
        {
            string text = $"{line:D6} The quick brown fox — 速い茶色の狐 — 🦊 jumps over the lazy dog.\n";
            builder.Append(text);
            bytes += Encoding.UTF8.GetByteCount(text);
        }

        return builder.ToString();
    }
}
