// Shared source: linked into the SQLite and PostgreSQL test projects (<Compile Include="../Shared/Schema1Rows.cs" Link=... />).
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace AgentCore.TestInfrastructure;

/// <summary>
/// Messages as schema 1 of the SQL stores kept them — a message's own fields as JSON in <c>messages.data</c>, a part's
/// JSON without its text in <c>parts.data</c> and the text of text and reasoning parts in <c>parts.text</c> — so the
/// migration tests can build a database that version of the stores wrote.
/// </summary>
internal static class Schema1Rows
{
    /// <summary>The <c>data</c> column of a message's row: its own fields as JSON.</summary>
    public static string MessageData(SessionMessage message)
    {
        var node = JsonSerializer.SerializeToNode(message, AgentCoreJson.Options)!.AsObject();
        node["parts"] = new JsonArray();
        return node.ToJsonString();
    }

    /// <summary>The rows of a message's parts: id, position, JSON without the text, and the text as UTF-8.</summary>
    public static IEnumerable<(string Id, int Position, string Data, byte[]? Text)> PartRows(SessionMessage message) =>
        message.Parts.Select(static (part, position) =>
        {
            var node = JsonSerializer.SerializeToNode(part, AgentCoreJson.Options)!.AsObject();
            string? text = part switch
            {
                TextPart t => t.Text,
                ReasoningPart r => r.Text,
                _ => null,
            };
            if (text is not null)
            {
                node.Remove("text");
            }

            return (part.Id, position, node.ToJsonString(), text is null ? null : Encoding.UTF8.GetBytes(text));
        });

    /// <summary>A conversation with every kind of field and part: a user request, a summary, a finished reply with tools and an open one.</summary>
    public static List<SessionMessage> Conversation(string sessionId)
    {
        var t0 = new DateTimeOffset(2026, 2, 3, 4, 5, 6, TimeSpan.Zero).AddTicks(1_234_567);
        var user = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.User, CreatedAt = t0, CompletedAt = t0,
            Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = "Read a.txt — bitte 🙂" }],
        };
        var summary = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.Assistant, CreatedAt = t0.AddTicks(1), CompletedAt = t0.AddSeconds(1),
            ProviderId = "p", ModelId = "m", IsSummary = true, SummarizedThrough = user.Id, Tokens = new TokenUsage(10, 2, 0, 0, 0), Cost = 0.0001m,
            FinishReason = "stop", Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = "The user asked to read a file." }],
        };
        var reply = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.Assistant, CreatedAt = t0.AddSeconds(2), CompletedAt = t0.AddSeconds(9).AddTicks(3),
            ProviderId = "p", ModelId = "m", Tokens = new TokenUsage(1000, 200, 50, 300, 40), Cost = 0.001234567m, FinishReason = "tool_calls",
            Error = new MessageError(MessageErrorKind.Api, "overloaded\0 — überlastet", 529),
            Parts =
            [
                new StepStartPart { Id = AgentCoreIds.NewPartId(), StartedAt = t0.AddSeconds(2) },
                new ReasoningPart { Id = AgentCoreIds.NewPartId(), Text = "Read it first." },
                new TextPart { Id = AgentCoreIds.NewPartId(), Text = "Reading.\0 Done." },
                new ToolPart
                {
                    Id = AgentCoreIds.NewPartId(), CallId = "call_1", ToolName = "read", State = ToolState.Completed,
                    Arguments = JsonDocument.Parse("""{"path":"a.txt"}""").RootElement.Clone(), Output = "contents",
                    StartedAt = t0.AddSeconds(3), EndedAt = t0.AddSeconds(4),
                    Attachments = [new FilePart { Id = AgentCoreIds.NewPartId(), MediaType = "image/png", Data = [1, 2, 3] }],
                },
                new FilePart { Id = AgentCoreIds.NewPartId(), MediaType = "application/pdf", Uri = "https://example.com/a.pdf" },
                new StepFinishPart { Id = AgentCoreIds.NewPartId(), Tokens = new TokenUsage(1000, 200, 50, 300, 40), Cost = 0.001234567m, FinishReason = "tool_calls", EndedAt = t0.AddSeconds(9) },
            ],
        };
        var open = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.Assistant, CreatedAt = t0.AddSeconds(10),
            ProviderId = "p", ModelId = "m", Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = "Half a" }],
        };
        return [user, summary, reply, open];
    }

    /// <summary>A message as AgentCore JSON, to compare messages field for field.</summary>
    public static string Json(SessionMessage message) => JsonSerializer.Serialize(message, AgentCoreJson.Options);
}
