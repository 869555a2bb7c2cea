using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Messages;

public sealed class PromptConversionTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Test]
    public void AppendChatMessages_AssistantWithSteps_OneAssistantAndOneToolMessagePerStep()
    {
        var message = Assistant(
            new StepStartPart { Id = PartId() },
            new TextPart { Id = PartId(), Text = "Checking." },
            Tool("call_1", "read", ToolState.Completed, output: "file body"),
            Tool("call_2", "list", ToolState.Completed, output: "a, b"),
            new StepFinishPart { Id = PartId() },
            new StepStartPart { Id = PartId() },
            new ReasoningPart { Id = PartId(), Text = "hmm" },
            Tool("call_3", "write", ToolState.Error, error: "permission denied"),
            new StepFinishPart { Id = PartId() },
            new StepStartPart { Id = PartId() },
            new TextPart { Id = PartId(), Text = "Done." },
            new StepFinishPart { Id = PartId() });
        var into = new List<ChatMessage>();

        PromptConversion.AppendChatMessages(message, into);

        into.Select(m => m.Role).Should().Equal(ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant);
        into[0].Contents.Should().HaveCount(3);
        into[0].Contents[0].Should().BeOfType<TextContent>().Which.Text.Should().Be("Checking.");
        into[0].Contents.OfType<FunctionCallContent>().Select(c => (c.CallId, c.Name)).Should().Equal(("call_1", "read"), ("call_2", "list"));
        into[1].Contents.OfType<FunctionResultContent>().Select(r => (r.CallId, r.Result)).Should().Equal(("call_1", (object?)"file body"), ("call_2", "a, b"));
        into[2].Contents.Should().ContainSingle().Which.Should().BeOfType<FunctionCallContent>().Which.CallId.Should().Be("call_3");
        into[3].Contents.Should().ContainSingle().Which.Should().BeOfType<FunctionResultContent>().Which.Result.Should().Be("Error: permission denied");
        into[4].Text.Should().Be("Done.");
        into.SelectMany(m => m.Contents).OfType<TextReasoningContent>().Should().BeEmpty("reasoning is not sent back");
    }

    [Test]
    public void AppendChatMessages_ToolArguments_RoundTripAsJson()
    {
        var tool = Tool("call_1", "search", ToolState.Completed, output: "ok");
        tool.Arguments = JsonSerializer.SerializeToElement(new { query = "oslo", limit = 3 });
        var into = new List<ChatMessage>();

        PromptConversion.AppendChatMessages(Assistant(new StepStartPart { Id = PartId() }, tool), into);

        var call = into[0].Contents.OfType<FunctionCallContent>().Single();
        call.Arguments!["query"].Should().BeOfType<JsonElement>().Which.GetString().Should().Be("oslo");
        ((JsonElement)call.Arguments["limit"]!).GetInt32().Should().Be(3);
    }

    [Test]
    public void AppendChatMessages_CompactedTool_PlaceholderInsteadOfOutput()
    {
        var tool = Tool("call_1", "read", ToolState.Completed, output: "a very long output");
        tool.Compacted = true;
        var into = new List<ChatMessage>();

        PromptConversion.AppendChatMessages(Assistant(new StepStartPart { Id = PartId() }, tool), into);

        into[1].Contents.OfType<FunctionResultContent>().Single().Result.Should().Be(PromptConversion.PrunedOutput);
        into.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Should().NotContain(r => Equals(r.Result, "a very long output"));
    }

    [TestCase(ToolState.Pending)]
    [TestCase(ToolState.Running)]
    public void ResultOf_UnfinishedTool_AnErrorResultSoTheCallIsAnswered(ToolState state)
    {
        PromptConversion.ResultOf(Tool("call_1", "x", state)).Should().Be("Error: the tool call was interrupted before it returned.");
    }

    [Test]
    public void ResultOf_ToolWithAttachments_TextThenFiles()
    {
        var tool = Tool("call_1", "screenshot", ToolState.Completed, output: "captured");
        tool.Attachments = [new FilePart { Id = PartId(), MediaType = "image/png", Data = [1, 2, 3] }];

        var result = PromptConversion.ResultOf(tool).Should().BeAssignableTo<IEnumerable<AIContent>>().Which.ToList();

        result[0].Should().BeOfType<TextContent>().Which.Text.Should().Be("captured");
        result[1].Should().BeOfType<DataContent>().Which.MediaType.Should().Be("image/png");
    }

    [Test]
    public void AppendChatMessages_UserWithTextAndFiles_OneMessageWithEveryContent()
    {
        var user = new SessionMessage
        {
            Id = Identifier.Create(IdKind.Message),
            SessionId = "ses_x",
            Role = ChatRole.User,
            CreatedAt = At,
            Parts =
            [
                new TextPart { Id = PartId(), Text = "Look:" },
                new FilePart { Id = PartId(), MediaType = "image/png", Name = "a.png", Data = [9, 8, 7] },
                new FilePart { Id = PartId(), MediaType = "application/pdf", Uri = "https://example.com/doc.pdf" },
                new FilePart { Id = PartId(), MediaType = "application/pdf", Uri = "not a uri" },
                new TextPart { Id = PartId(), Text = "" },
            ],
        };
        var into = new List<ChatMessage>();

        PromptConversion.AppendChatMessages(user, into);

        var message = into.Should().ContainSingle().Which;
        message.Role.Should().Be(ChatRole.User);
        message.Contents.Should().HaveCount(3);
        message.Contents[0].Should().BeOfType<TextContent>().Which.Text.Should().Be("Look:");
        var data = message.Contents[1].Should().BeOfType<DataContent>().Which;
        (data.MediaType, data.Name).Should().Be(("image/png", "a.png"));
        data.Data.ToArray().Should().Equal(9, 8, 7);
        message.Contents[2].Should().BeOfType<UriContent>().Which.Uri.Should().Be(new Uri("https://example.com/doc.pdf"));
    }

    [Test]
    public void AppendChatMessages_AssistantFile_SentInTheAssistantMessage()
    {
        var into = new List<ChatMessage>();

        PromptConversion.AppendChatMessages(Assistant(
            new StepStartPart { Id = PartId() },
            new FilePart { Id = PartId(), MediaType = "image/png", Data = [1] }), into);

        into.Should().ContainSingle().Which.Contents.Should().ContainSingle().Which.Should().BeOfType<DataContent>();
    }

    [Test]
    public void AppendChatMessages_NothingToSend_NoMessage()
    {
        var into = new List<ChatMessage>();

        PromptConversion.AppendChatMessages(Assistant(new StepStartPart { Id = PartId() }, new ReasoningPart { Id = PartId(), Text = "only thoughts" }, new StepFinishPart { Id = PartId() }), into);

        into.Should().BeEmpty();
    }

    [Test]
    public void ToParts_TextAndContents_TextFirstThenEachContent()
    {
        var parts = PromptConversion.ToParts("hello", [new TextContent("more"), new DataContent(new byte[] { 1 }, "image/png"), new UriContent(new Uri("https://example.com/x.png"), "image/png"), null!], TimeProvider.System);

        parts.Select(p => p.GetType()).Should().Equal(typeof(TextPart), typeof(TextPart), typeof(FilePart), typeof(FilePart));
        ((TextPart)parts[0]).Text.Should().Be("hello");
        ((FilePart)parts[3]).Uri.Should().Be("https://example.com/x.png");
        parts.Should().OnlyContain(p => Identifier.IsValid(p.Id, IdKind.Part));
    }

    [Test]
    public void ToParts_UnsupportedContent_ThrowsArgumentException()
    {
        var act = () => PromptConversion.ToParts(null, [new FunctionCallContent("c", "f")], TimeProvider.System);

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain(nameof(FunctionCallContent));
    }

    [Test]
    public void ToParts_Nothing_Empty()
    {
        PromptConversion.ToParts(null, null, TimeProvider.System).Should().BeEmpty();
        PromptConversion.ToParts("", [new TextContent("")], TimeProvider.System).Should().BeEmpty();
    }

    [Test]
    public void ToParts_EmptyTextContentBesideAFile_SkippedNotRejected()
    {
        var parts = PromptConversion.ToParts(null, [new TextContent(""), new DataContent(new byte[] { 1 }, "image/png")], TimeProvider.System);

        parts.Should().ContainSingle().Which.Should().BeOfType<FilePart>();
    }

    private static SessionMessage Assistant(params MessagePart[] parts) => new()
    {
        Id = Identifier.Create(IdKind.Message),
        SessionId = "ses_x",
        Role = ChatRole.Assistant,
        CreatedAt = At,
        CompletedAt = At,
        Parts = [.. parts],
    };

    private static ToolPart Tool(string callId, string name, ToolState state, string? output = null, string? error = null) => new()
    {
        Id = PartId(),
        CallId = callId,
        ToolName = name,
        State = state,
        Output = output,
        Error = error,
    };

    private static string PartId() => Identifier.Create(IdKind.Part);
}
