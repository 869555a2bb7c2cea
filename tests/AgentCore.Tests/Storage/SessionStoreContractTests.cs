using System.Text.Json;
using AgentCore.Tests.Worker;
using Microsoft.Extensions.AI;

namespace AgentCore.Tests.Storage;

/// <summary>
/// The behaviour every <see cref="ISessionStore"/> of this repository shares. A derived fixture supplies the
/// store; each test gets a fresh, empty one.
/// </summary>
public abstract class SessionStoreContractTests
{
    protected static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 30, 0, TimeSpan.Zero);

    /// <summary>A fresh, empty store for the current test.</summary>
    protected abstract ISessionStore CreateStore();

    // ---- sessions ----

    [Test]
    public async Task GetSessionAsync_Unknown_Null()
    {
        var store = CreateStore();

        (await store.GetSessionAsync(AgentCoreIds.NewSessionId())).Should().BeNull();
    }

    [Test]
    public async Task SaveSessionAsync_ThenGet_RoundTripsEveryField()
    {
        var store = CreateStore();
        var session = Session(T0) with
        {
            ParentId = AgentCoreIds.NewSessionId(),
            Title = "Plans for \"Oslo\" ✈ — day 1\n",
            UpdatedAt = T0.AddMinutes(5),
            Tokens = new TokenUsage(Input: 1200, Output: 340, Reasoning: 40, CacheRead: 5000, CacheWrite: 700),
            Cost = 0.123456789m,
            Metadata = new Dictionary<string, string> { ["owner"] = "ada", ["tags"] = "travel,work" },
        };

        await store.SaveSessionAsync(session);
        var read = await store.GetSessionAsync(session.Id);

        read.Should().BeEquivalentTo(session);
        read!.Cost.Should().Be(0.123456789m);
    }

    [Test]
    public async Task SaveSessionAsync_SameIdTwice_Replaces()
    {
        var store = CreateStore();
        var session = Session(T0);
        await store.SaveSessionAsync(session);

        await store.SaveSessionAsync(session with { Title = "Renamed", Cost = 2m });

        (await store.GetSessionAsync(session.Id))!.Title.Should().Be("Renamed");
        (await ListAsync(store)).Should().ContainSingle().Which.Cost.Should().Be(2m);
    }

    [Test]
    public async Task ListSessionsAsync_Empty_NothingListed()
    {
        var store = CreateStore();

        (await ListAsync(store)).Should().BeEmpty();
    }

    [Test]
    public async Task ListSessionsAsync_SavedInAnyOrder_NewestFirst()
    {
        var store = CreateStore();
        var sessions = Enumerable.Range(0, 6).Select(i => Session(T0.AddMinutes(i))).ToList();
        foreach (int i in new[] { 3, 0, 5, 1, 4, 2 })
        {
            await store.SaveSessionAsync(sessions[i]);
        }

        var listed = await ListAsync(store);

        listed.Select(s => s.Id).Should().Equal(sessions.AsEnumerable().Reverse().Select(s => s.Id));
    }

    [Test]
    public async Task ListSessionsAsync_SameCreationTime_HigherIdFirst()
    {
        var store = CreateStore();
        var first = Session(T0);
        var second = Session(T0);
        await store.SaveSessionAsync(first);
        await store.SaveSessionAsync(second);

        (await ListAsync(store)).Select(s => s.Id).Should().Equal(second.Id, first.Id);
    }

    [Test]
    public async Task ListSessionsAsync_UpdatedLater_StillOrderedByCreation()
    {
        var store = CreateStore();
        var older = Session(T0);
        var newer = Session(T0.AddHours(1));
        await store.SaveSessionAsync(older);
        await store.SaveSessionAsync(newer);

        await store.SaveSessionAsync(older with { UpdatedAt = T0.AddDays(1) });

        (await ListAsync(store)).Select(s => s.Id).Should().Equal(newer.Id, older.Id);
    }

    [Test]
    public async Task DeleteSessionAsync_Existing_RemovesSessionAndMessages()
    {
        var store = CreateStore();
        var session = Session(T0);
        var kept = Session(T0);
        await store.SaveSessionAsync(session);
        await store.SaveSessionAsync(kept);
        await store.SaveMessageAsync(UserMessage(session.Id, "hello"));
        await store.SaveMessageAsync(UserMessage(kept.Id, "kept"));

        (await store.DeleteSessionAsync(session.Id)).Should().BeTrue();

        (await store.GetSessionAsync(session.Id)).Should().BeNull();
        (await store.GetMessagesAsync(session.Id)).Should().BeEmpty();
        (await ListAsync(store)).Select(s => s.Id).Should().Equal(kept.Id);
        (await store.GetMessagesAsync(kept.Id)).Should().ContainSingle().Which.Text.Should().Be("kept");
    }

    [Test]
    public async Task DeleteSessionAsync_Unknown_False()
    {
        var store = CreateStore();

        (await store.DeleteSessionAsync(AgentCoreIds.NewSessionId())).Should().BeFalse();
    }

    [Test]
    public async Task DeleteSessionAsync_Twice_TrueThenFalse()
    {
        var store = CreateStore();
        var session = Session(T0);
        await store.SaveSessionAsync(session);

        (await store.DeleteSessionAsync(session.Id)).Should().BeTrue();
        (await store.DeleteSessionAsync(session.Id)).Should().BeFalse();
    }

    [Test]
    public async Task DeleteSessionAsync_OnlyMessagesStored_RemovesThem()
    {
        var store = CreateStore();
        string sessionId = AgentCoreIds.NewSessionId();
        await store.SaveMessageAsync(UserMessage(sessionId, "orphan"));

        (await store.DeleteSessionAsync(sessionId)).Should().BeTrue();

        (await store.GetMessagesAsync(sessionId)).Should().BeEmpty();
    }

    // ---- messages ----

    [Test]
    public async Task GetMessagesAsync_UnknownSession_Empty()
    {
        var store = CreateStore();

        (await store.GetMessagesAsync(AgentCoreIds.NewSessionId())).Should().BeEmpty();
    }

    [Test]
    public async Task SaveMessageAsync_EveryPartType_RoundTrips()
    {
        var store = CreateStore();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = EveryPartMessage(sessionId);

        await store.SaveMessageAsync(message);
        var read = (await store.GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;

        ShouldEqual(read, message);
    }

    [Test]
    public async Task SaveMessageAsync_SavedOutOfOrder_ReturnedInCreationOrder()
    {
        var store = CreateStore();
        string sessionId = AgentCoreIds.NewSessionId();
        var messages = Enumerable.Range(0, 8).Select(i => UserMessage(sessionId, $"m{i}")).ToList();
        foreach (int i in new[] { 5, 2, 7, 0, 3, 6, 1, 4 })
        {
            await store.SaveMessageAsync(messages[i]);
        }

        var read = await store.GetMessagesAsync(sessionId);

        read.Select(m => m.Text).Should().Equal(messages.Select(m => m.Text));
        read.Select(m => m.Id).Should().BeInAscendingOrder(StringComparer.Ordinal);
    }

    [Test]
    public async Task SaveMessageAsync_SameIdTwice_Replaces()
    {
        var store = CreateStore();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = UserMessage(sessionId, "draft");
        await store.SaveMessageAsync(message);

        message.Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = "final" }];
        message.CompletedAt = T0.AddSeconds(3);
        await store.SaveMessageAsync(message);

        var read = (await store.GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        read.Text.Should().Be("final");
        read.CompletedAt.Should().Be(T0.AddSeconds(3));
    }

    [Test]
    public async Task SaveMessageAsync_TwoSessions_KeptApart()
    {
        var store = CreateStore();
        string a = AgentCoreIds.NewSessionId();
        string b = AgentCoreIds.NewSessionId();

        await store.SaveMessageAsync(UserMessage(a, "for a"));
        await store.SaveMessageAsync(UserMessage(b, "for b"));

        (await store.GetMessagesAsync(a)).Select(m => m.Text).Should().Equal("for a");
        (await store.GetMessagesAsync(b)).Select(m => m.Text).Should().Equal("for b");
    }

    [Test]
    public async Task GetMessagesAsync_ReturnedMessageChanged_StoreUnchanged()
    {
        var store = CreateStore();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = UserMessage(sessionId, "original");
        await store.SaveMessageAsync(message);
        message.Parts.Clear();

        var read = (await store.GetMessagesAsync(sessionId))[0];
        ((TextPart)read.Parts[0]).Text = "changed";

        (await store.GetMessagesAsync(sessionId))[0].Text.Should().Be("original");
    }

    [Test]
    public async Task SavePartAsync_NewPart_Added()
    {
        var store = CreateStore();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        await store.SaveMessageAsync(message);

        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "Hi" };
        message.Parts.Add(text);
        await store.SavePartAsync(message, text);

        var read = (await store.GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        read.Parts.Should().HaveCount(2);
        read.Text.Should().Be("Hi");
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

    [Test]
    public async Task SavePartAsync_AppendedText_TextAndReasoningGrow()
    {
        var store = CreateStore();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        var reasoning = new ReasoningPart { Id = AgentCoreIds.NewPartId(), Text = "Let me" };
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "" };
        message.Parts.Add(reasoning);
        message.Parts.Add(text);
        await store.SaveMessageAsync(message);

        foreach (string chunk in new[] { " think", " about", " it." })
        {
            reasoning.Text += chunk;
            await store.SavePartAsync(message, reasoning, chunk);
        }

        foreach (string chunk in new[] { "Hel", "lo, ", "wörld ", "🎉", "\n\"quoted\"" })
        {
            text.Text += chunk;
            await store.SavePartAsync(message, text, chunk);
        }

        var read = (await store.GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        read.Parts.OfType<ReasoningPart>().Single().Text.Should().Be("Let me think about it.");
        read.Text.Should().Be("Hello, wörld 🎉\n\"quoted\"");
        ShouldEqual(read, message);
    }

    [Test]
    public async Task SavePartAsync_ExistingPartChanged_ReplacedInPlace()
    {
        var store = CreateStore();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        var tool = new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "call_1", ToolName = "search", State = ToolState.Pending };
        var after = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "after" };
        message.Parts.Add(tool);
        message.Parts.Add(after);
        await store.SaveMessageAsync(message);

        tool.State = ToolState.Running;
        tool.StartedAt = T0.AddSeconds(1);
        await store.SavePartAsync(message, tool);
        tool.State = ToolState.Completed;
        tool.Output = "3 results";
        tool.EndedAt = T0.AddSeconds(2);
        await store.SavePartAsync(message, tool);

        var read = (await store.GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        read.Parts.Select(p => p.Id).Should().Equal(message.Parts.Select(p => p.Id));
        var readTool = read.Parts.OfType<ToolPart>().Single();
        readTool.State.Should().Be(ToolState.Completed);
        readTool.Output.Should().Be("3 results");
        readTool.StartedAt.Should().Be(T0.AddSeconds(1));
    }

    [Test]
    public async Task SavePartAsync_MessageFieldsChanged_FieldsStored()
    {
        var store = CreateStore();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        await store.SaveMessageAsync(message);

        var finish = new StepFinishPart { Id = AgentCoreIds.NewPartId(), Tokens = new TokenUsage(10, 5, 0, 0, 0), Cost = 0.5m, FinishReason = "stop" };
        message.Parts.Add(finish);
        message.CompletedAt = T0.AddSeconds(9);
        message.Tokens = new TokenUsage(10, 5, 0, 0, 0);
        message.Cost = 0.5m;
        message.FinishReason = "stop";
        message.Error = new MessageError(MessageErrorKind.MaxSteps, "stopped at the step limit");
        await store.SavePartAsync(message, finish);

        var read = (await store.GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        ShouldEqual(read, message);
    }

    // ---- invalid ids ----

    /// <summary>Stands for an id of another kind than the slot it is passed in (<c>msg_…</c> for a session id, <c>ses_…</c> otherwise).</summary>
    private const string WrongPrefix = "(wrong prefix)";

    public static IEnumerable<string> BadIds() =>
    [
        "../../etc/passwd",
        "/etc/passwd",
        "ses_../../etc/passwd",
        "ses_/tmp/x",
        @"C:\Windows\x",
        "",
        "ses_" + new string('a', 61),
        WrongPrefix,
    ];

    public static IEnumerable<TestCaseData> BadIdOperations()
    {
        foreach (string raw in BadIds())
        {
            foreach (var (name, operation) in Operations)
            {
                string id = raw != WrongPrefix ? raw
                    : operation.SessionSlot ? "msg_00000000000000abcdefghijkl" : "ses_00000000000000abcdefghijkl";
                yield return new TestCaseData(name, id).SetArgDisplayNames(name, id.Length > 20 ? id[..20] + "…" : id);
            }
        }
    }

    /// <summary>A store operation called with a bad id in one place; <paramref name="SessionSlot"/>: that place takes a session id.</summary>
    protected sealed record BadIdOperation(Func<ISessionStore, string, ValueTask> Call, bool SessionSlot);

    /// <summary>Every store operation, called with a bad id in the place the name says.</summary>
    protected static readonly IReadOnlyDictionary<string, BadIdOperation> Operations = new Dictionary<string, BadIdOperation>
    {
        ["GetSession"] = new(async (s, id) => await s.GetSessionAsync(id), true),
        ["DeleteSession"] = new(async (s, id) => await s.DeleteSessionAsync(id), true),
        ["GetMessages"] = new(async (s, id) => await s.GetMessagesAsync(id), true),
        ["SaveSession.Id"] = new(async (s, id) => await s.SaveSessionAsync(Session(T0) with { Id = id }), true),
        ["SaveMessage.SessionId"] = new(async (s, id) => await s.SaveMessageAsync(UserMessage(id, "x")), true),
        ["SaveMessage.Id"] = new(async (s, id) =>
        {
            var message = UserMessage(AgentCoreIds.NewSessionId(), "x");
            message.Id = id;
            await s.SaveMessageAsync(message);
        }, false),
        ["SavePart.SessionId"] = new(async (s, id) =>
        {
            var message = UserMessage(id, "x");
            await s.SavePartAsync(message, message.Parts[0]);
        }, true),
        ["SavePart.MessageId"] = new(async (s, id) =>
        {
            var message = UserMessage(AgentCoreIds.NewSessionId(), "x");
            message.Id = id;
            await s.SavePartAsync(message, message.Parts[0], "x");
        }, false),
        ["SavePart.PartId"] = new(async (s, id) =>
        {
            var message = UserMessage(AgentCoreIds.NewSessionId(), "x");
            message.Parts[0].Id = id;
            await s.SavePartAsync(message, message.Parts[0], "x");
        }, false),
    };

    [TestCaseSource(nameof(BadIdOperations))]
    public async Task AnyOperation_BadId_ArgumentExceptionNamingTheValue(string operation, string id)
    {
        var store = CreateStore();

        var thrown = await FluentActions.Awaiting(async () => await Operations[operation].Call(store, id))
            .Should().ThrowAsync<ArgumentException>();

        thrown.Which.Message.Should().Contain($"'{id}'");
        thrown.Which.ParamName.Should().NotBeNullOrEmpty();
    }

    [Test]
    public async Task SaveMessageAsync_Null_ArgumentNullException()
    {
        var store = CreateStore();

        await FluentActions.Awaiting(async () => await store.SaveMessageAsync(null!)).Should().ThrowAsync<ArgumentNullException>();
        await FluentActions.Awaiting(async () => await store.SaveSessionAsync(null!)).Should().ThrowAsync<ArgumentNullException>();
    }

    // ---- concurrency ----

    [Test]
    public async Task SaveMessageAsync_ManyTasksAtOnce_NoneLost()
    {
        var store = CreateStore();
        string sessionId = AgentCoreIds.NewSessionId();
        const int tasks = 16;
        const int perTask = 40;

        await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(() =>
            ConcurrentWrites.WriteMessagesAsync(store, sessionId, perTask, $"task{t}"))));

        var read = await store.GetMessagesAsync(sessionId);
        read.Should().HaveCount(tasks * perTask);
        read.Select(m => m.Id).Should().BeInAscendingOrder(StringComparer.Ordinal);
        for (int t = 0; t < tasks; t++)
        {
            read.Where(m => m.ModelId == $"task{t}").Select(m => m.Text)
                .Should().Equal(Enumerable.Range(0, perTask).Select(i => ConcurrentWrites.ExpectedText($"task{t}", i)));
        }
    }

    [Test]
    public async Task SaveSessionAsync_ManyTasksAtOnce_AllListed()
    {
        var store = CreateStore();
        var sessions = Enumerable.Range(0, 200).Select(i => Session(T0.AddSeconds(i))).ToList();

        await Task.WhenAll(sessions.Chunk(25).Select(chunk => Task.Run(async () =>
        {
            foreach (var session in chunk)
            {
                await store.SaveSessionAsync(session);
                await store.SaveSessionAsync(session with { Title = session.Id });
            }
        })));

        var listed = await ListAsync(store);
        listed.Select(s => s.Id).Should().Equal(sessions.AsEnumerable().Reverse().Select(s => s.Id));
        listed.Should().OnlyContain(s => s.Title == s.Id);
    }

    // ---- helpers ----

    protected static SessionInfo Session(DateTimeOffset createdAt) => new()
    {
        Id = AgentCoreIds.NewSessionId(),
        Title = SessionInfo.DefaultTitlePrefix + createdAt.ToString("O"),
        CreatedAt = createdAt,
        UpdatedAt = createdAt,
    };

    protected static SessionMessage UserMessage(string sessionId, string text) => new()
    {
        Id = AgentCoreIds.NewMessageId(),
        SessionId = sessionId,
        Role = ChatRole.User,
        CreatedAt = T0,
        CompletedAt = T0,
        Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = text }],
    };

    protected static SessionMessage AssistantMessage(string sessionId) => new()
    {
        Id = AgentCoreIds.NewMessageId(),
        SessionId = sessionId,
        Role = ChatRole.Assistant,
        CreatedAt = T0,
        ProviderId = "anthropic",
        ModelId = "claude-sonnet",
        Parts = [new StepStartPart { Id = AgentCoreIds.NewPartId(), StartedAt = T0 }],
    };

    /// <summary>An assistant message with every field set and every kind of part.</summary>
    protected static SessionMessage EveryPartMessage(string sessionId) => new()
    {
        Id = AgentCoreIds.NewMessageId(),
        SessionId = sessionId,
        Role = ChatRole.Assistant,
        CreatedAt = T0,
        CompletedAt = T0.AddSeconds(12.345),
        ProviderId = "anthropic",
        ModelId = "claude-sonnet",
        Tokens = new TokenUsage(Input: 100, Output: 50, Reasoning: 7, CacheRead: 3000, CacheWrite: 200),
        Cost = 0.0123m,
        IsSummary = true,
        Error = new MessageError(MessageErrorKind.Api, "The provider answered 429.", 429),
        FinishReason = "tool_calls",
        Parts =
        [
            new StepStartPart { Id = AgentCoreIds.NewPartId(), StartedAt = T0 },
            new ReasoningPart { Id = AgentCoreIds.NewPartId(), Text = "The user wants the weather." },
            new TextPart { Id = AgentCoreIds.NewPartId(), Text = "Checking \"Oslo\"…\nünïcödé 🎉 \\ </script>" },
            new FilePart { Id = AgentCoreIds.NewPartId(), MediaType = "image/png", Name = "map.png", Data = [0, 1, 2, 254, 255] },
            new FilePart { Id = AgentCoreIds.NewPartId(), MediaType = "application/pdf", Uri = "https://example.com/forecast.pdf" },
            new ToolPart
            {
                Id = AgentCoreIds.NewPartId(),
                CallId = "call_1",
                ToolName = "get_weather",
                Arguments = JsonDocument.Parse("""{"city":"Oslo","days":[1,2],"metric":true}""").RootElement.Clone(),
                State = ToolState.Completed,
                Output = "Sunny, 21 °C",
                Attachments = [new FilePart { Id = AgentCoreIds.NewPartId(), MediaType = "image/jpeg", Data = [9, 8, 7] }],
                StartedAt = T0.AddSeconds(1),
                EndedAt = T0.AddSeconds(2),
                Compacted = true,
            },
            new ToolPart
            {
                Id = AgentCoreIds.NewPartId(),
                CallId = "call_2",
                ToolName = "broken_tool",
                RawArguments = "{not json",
                State = ToolState.Error,
                Error = "The arguments are not JSON.",
            },
            new StepFinishPart
            {
                Id = AgentCoreIds.NewPartId(),
                Tokens = new TokenUsage(100, 50, 7, 3000, 200),
                Cost = 0.0123m,
                FinishReason = "tool_calls",
                EndedAt = T0.AddSeconds(3),
            },
        ],
    };

    /// <summary>Asserts two messages are equal field by field, parts by their runtime type, arguments by their JSON.</summary>
    protected static void ShouldEqual(SessionMessage actual, SessionMessage expected)
    {
        actual.Should().BeEquivalentTo(expected, options => options
            .RespectingRuntimeTypes()
            .WithStrictOrdering()
            .Excluding((FluentAssertions.Equivalency.IMemberInfo member) => member.Name == nameof(ToolPart.Arguments)));
        actual.Parts.Select(p => p.GetType()).Should().Equal(expected.Parts.Select(p => p.GetType()));
        actual.Parts.OfType<ToolPart>().Select(p => p.Arguments?.GetRawText())
            .Should().Equal(expected.Parts.OfType<ToolPart>().Select(p => p.Arguments?.GetRawText()));
    }

    protected static async Task<List<SessionInfo>> ListAsync(ISessionStore store)
    {
        var list = new List<SessionInfo>();
        await foreach (var session in store.ListSessionsAsync())
        {
            list.Add(session);
        }

        return list;
    }
}
