using System.Text.Json;
using Microsoft.Extensions.AI;

namespace AgentCore.Tests.Storage;

/// <summary>
/// Test data for the store tests of this project: sessions, messages with every part, bad ids for every store
/// operation. The behaviour every store shares is tested by AgentCore.Testing's conformance suite.
/// </summary>
internal static class StoreTestData
{
    internal static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 30, 0, TimeSpan.Zero);

    /// <summary>Stands for an id of another kind than the slot it is passed in (<c>msg_…</c> for a session id, <c>ses_…</c> otherwise).</summary>
    private const string WrongPrefix = "(wrong prefix)";

    internal static IEnumerable<string> BadIds() =>
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

    internal static IEnumerable<TestCaseData> BadIdOperations()
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
    internal sealed record BadIdOperation(Func<ISessionStore, string, ValueTask> Call, bool SessionSlot);

    /// <summary>Every store operation, called with a bad id in the place the name says.</summary>
    internal static readonly IReadOnlyDictionary<string, BadIdOperation> Operations = new Dictionary<string, BadIdOperation>
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

    internal static SessionInfo Session(DateTimeOffset createdAt) => new()
    {
        Id = AgentCoreIds.NewSessionId(),
        Title = SessionInfo.DefaultTitlePrefix + createdAt.ToString("O"),
        CreatedAt = createdAt,
        UpdatedAt = createdAt,
    };

    internal static SessionMessage UserMessage(string sessionId, string text) => new()
    {
        Id = AgentCoreIds.NewMessageId(),
        SessionId = sessionId,
        Role = ChatRole.User,
        CreatedAt = T0,
        CompletedAt = T0,
        Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = text }],
    };

    internal static SessionMessage AssistantMessage(string sessionId) => new()
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
    internal static SessionMessage EveryPartMessage(string sessionId) => new()
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
    internal static void ShouldEqual(SessionMessage actual, SessionMessage expected)
    {
        actual.Should().BeEquivalentTo(expected, options => options
            .RespectingRuntimeTypes()
            .WithStrictOrdering()
            .Excluding((FluentAssertions.Equivalency.IMemberInfo member) => member.Name == nameof(ToolPart.Arguments)));
        actual.Parts.Select(p => p.GetType()).Should().Equal(expected.Parts.Select(p => p.GetType()));
        actual.Parts.OfType<ToolPart>().Select(p => p.Arguments?.GetRawText())
            .Should().Equal(expected.Parts.OfType<ToolPart>().Select(p => p.Arguments?.GetRawText()));
    }

    internal static async Task<List<SessionInfo>> ListAsync(ISessionStore store)
    {
        var list = new List<SessionInfo>();
        await foreach (var session in store.ListSessionsAsync())
        {
            list.Add(session);
        }

        return list;
    }

}
