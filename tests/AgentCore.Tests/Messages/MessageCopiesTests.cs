using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace AgentCore.Tests.Messages;

[TestFixture]
public sealed class MessageCopiesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public void Copy_EveryPartKindWithEveryPropertySet_SerializesExactlyLikeTheOriginal()
    {
        var message = FullMessage();

        var copy = MessageCopies.Copy(message);

        Json(copy).Should().Be(Json(message));
        Json(copy).Should().Be(Json(JsonSerializer.Deserialize(Json(message), AgentCoreJsonContext.Default.SessionMessage)!));
    }

    /// <summary>The fixture sets every public property of every part kind: a property added later without a copy fails here.</summary>
    [Test]
    public void FullMessage_EveryPartKind_HasEveryPublicPropertySet()
    {
        var message = FullMessage();
        var partTypes = typeof(MessagePart).GetCustomAttributes<System.Text.Json.Serialization.JsonDerivedTypeAttribute>().Select(a => a.DerivedType).ToList();

        message.Parts.Select(p => p.GetType()).Should().BeEquivalentTo(partTypes);
        var tool = message.Parts.OfType<ToolPart>().Single();
        foreach (var part in message.Parts.Append<object>(message).Append(tool.Attachments![0]).Append(tool.Approval!))
        {
            foreach (var property in part.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                object? value = property.GetValue(part);
                object? unset = property.PropertyType.IsValueType && Nullable.GetUnderlyingType(property.PropertyType) is null
                    ? Activator.CreateInstance(property.PropertyType)
                    : null;
                value.Should().NotBe(unset, $"{part.GetType().Name}.{property.Name} must be set so that the copy is checked");
            }
        }
    }

    [Test]
    public void Copy_CopyChanged_LeavesTheOriginalAsItWas()
    {
        var message = FullMessage();
        string before = Json(message);

        var copy = MessageCopies.Copy(message);
        copy.Parts.OfType<TextPart>().Single().Text = "changed";
        var tool = copy.Parts.OfType<ToolPart>().Single();
        tool.State = ToolState.Error;
        tool.Attachments![0].Data![0] = 0xFF;
        tool.Attachments.Add(new FilePart { Id = "prt_added", MediaType = "text/plain" });
        tool.Metadata!["added"] = JsonSerializer.SerializeToElement(1);
        tool.Approval!.Approved = false;
        copy.Parts.OfType<FilePart>().Single().Data![0] = 0xFF;
        copy.Parts.Clear();

        Json(message).Should().Be(before);
    }

    [Test]
    public void Copy_ArgumentsFromADisposedDocument_CopyStillReadsThem()
    {
        var message = FullMessage();
        var tool = message.Parts.OfType<ToolPart>().Single();
        var document = JsonDocument.Parse("""{"path":"a.txt"}""");
        tool.Arguments = document.RootElement;

        var copy = MessageCopies.Copy(message);
        document.Dispose();

        copy.Parts.OfType<ToolPart>().Single().Arguments!.Value.GetProperty("path").GetString().Should().Be("a.txt");
    }

    private static string Json(SessionMessage message) => JsonSerializer.Serialize(message, AgentCoreJsonContext.Default.SessionMessage);

    private static SessionMessage FullMessage() => new()
    {
        Id = AgentCoreIds.NewMessageId(),
        SessionId = AgentCoreIds.NewSessionId(),
        Role = ChatRole.Assistant,
        CreatedAt = T0,
        CompletedAt = T0.AddSeconds(5),
        ProviderId = "openai",
        ModelId = "gpt-5",
        Tokens = new TokenUsage(100, 20, 5, 50, 10),
        Cost = 0.0123m,
        IsSummary = true,
        SummarizedThrough = AgentCoreIds.NewMessageId(),
        Error = new MessageError(MessageErrorKind.Api, "bad gateway", 502),
        FinishReason = "stop",
        Parts =
        [
            new StepStartPart { Id = AgentCoreIds.NewPartId(), StartedAt = T0 },
            new ReasoningPart { Id = AgentCoreIds.NewPartId(), Text = "thinking" },
            new TextPart { Id = AgentCoreIds.NewPartId(), Text = "hello" },
            new FilePart { Id = AgentCoreIds.NewPartId(), MediaType = "image/png", Name = "a.png", Data = [1, 2, 3], Uri = "https://example.invalid/a.png" },
            new ToolPart
            {
                Id = AgentCoreIds.NewPartId(),
                CallId = "call_1",
                ToolName = "read",
                Arguments = JsonSerializer.SerializeToElement(new { path = "a.txt" }),
                RawArguments = "{path:",
                State = ToolState.Completed,
                Output = "contents",
                Attachments = [new FilePart { Id = AgentCoreIds.NewPartId(), MediaType = "audio/wav", Name = "b.wav", Data = [4, 5], Uri = "file:b.wav" }],
                Metadata = new Dictionary<string, JsonElement> { ["lines"] = JsonSerializer.SerializeToElement(3) },
                Error = "none",
                Approval = new ToolApprovalDecision { Approved = true, Reason = "fine", AnsweredAt = T0.AddSeconds(1) },
                StartedAt = T0.AddSeconds(1),
                EndedAt = T0.AddSeconds(2),
                Compacted = true,
            },
            new StepFinishPart { Id = AgentCoreIds.NewPartId(), Tokens = new TokenUsage(100, 20, 5, 50, 10), Cost = 0.0123m, FinishReason = "tool_calls", EndedAt = T0.AddSeconds(3) },
        ],
    };
}
