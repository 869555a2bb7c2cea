using System.Text.Json;
using Microsoft.Extensions.AI;

namespace AgentCore.Tests.Messages;

/// <summary>The public conversion between stored messages and chat messages.</summary>
public sealed class SessionMessageConversionTests
{
    private const string SessionId = "ses_conversion";

    [Test]
    public void ToSessionMessages_ToolLoopThenToChatMessages_RoundTripsTextReasoningCallsAndResults()
    {
        ChatMessage[] chat =
        [
            new(ChatRole.User, "Weather in Oslo?"),
            new(ChatRole.Assistant, [new TextReasoningContent("Look it up."), new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Oslo" })]),
            new(ChatRole.Tool, [new FunctionResultContent("call_1", "sunny")]),
            new(ChatRole.Assistant, [new TextContent("It is sunny."), new UsageContent(new UsageDetails { InputTokenCount = 10, OutputTokenCount = 2 })]),
        ];

        var stored = chat.ToSessionMessages(SessionId, new FakeTimeProvider());

        stored.Select(m => m.Role).Should().Equal(ChatRole.User, ChatRole.Assistant);
        stored.Should().OnlyContain(m => m.SessionId == SessionId && m.CompletedAt != null);
        string.CompareOrdinal(stored[0].Id, stored[1].Id).Should().BeNegative();
        stored[1].Parts.Select(p => p.GetType()).Should().Equal(
            typeof(StepStartPart), typeof(ReasoningPart), typeof(ToolPart), typeof(StepStartPart), typeof(TextPart));
        var tool = (ToolPart)stored[1].Parts[2];
        (tool.State, tool.Output, tool.Arguments!.Value.GetProperty("city").GetString()).Should().Be((ToolState.Completed, "sunny", "Oslo"));
        stored[1].Tokens.Should().Be(new TokenUsage(10, 2, 0, 0, 0));

        var back = stored.SelectMany(m => m.ToChatMessages(includeReasoning: true)).ToList();
        back.Select(m => m.Role).Should().Equal(ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant);
        back[1].Contents.OfType<TextReasoningContent>().Single().Text.Should().Be("Look it up.");
        back[1].Contents.OfType<FunctionCallContent>().Single().Arguments!["city"].Should().BeOfType<JsonElement>().Which.GetString().Should().Be("Oslo");
        back[2].Contents.OfType<FunctionResultContent>().Single().Result.Should().Be("sunny");
        back[3].Text.Should().Be("It is sunny.");
        stored[1].ToChatMessages().SelectMany(m => m.Contents).OfType<TextReasoningContent>().Should().BeEmpty("prompts never send reasoning back");
    }

    [Test]
    public void ToSessionMessages_ResultWithException_ToolPartInErrorStateWithTheTextTheModelSaw()
    {
        ChatMessage[] chat =
        [
            new(ChatRole.Assistant, [new FunctionCallContent("call_1", "fail")]),
            new(ChatRole.Tool, [new FunctionResultContent("call_1", "Error: Function failed.") { Exception = new InvalidOperationException("secret detail") }]),
            new(ChatRole.Tool, [new FunctionResultContent("call_unknown", "orphan")]),
        ];

        var tool = chat.ToSessionMessages(SessionId).Single().Parts.OfType<ToolPart>().Single();

        (tool.State, tool.Error).Should().Be((ToolState.Error, "Function failed."));
    }

    [Test]
    public void ToSessionMessages_PathTraversalSessionId_ThrowsArgumentException()
    {
        var act = () => new[] { new ChatMessage(ChatRole.User, "hi") }.ToSessionMessages("ses_../x");

        act.Should().Throw<ArgumentException>().WithParameterName("sessionId");
    }

    [Test]
    public void ToPromptMessages_AfterASummary_StartsFromTheSummary()
    {
        var time = new FakeTimeProvider();
        var old = new[] { new ChatMessage(ChatRole.User, "old question"), new ChatMessage(ChatRole.Assistant, "old answer") }.ToSessionMessages(SessionId, time);
        var summary = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = SessionId, Role = ChatRole.Assistant, CreatedAt = time.GetUtcNow(), CompletedAt = time.GetUtcNow(),
            IsSummary = true, SummarizedThrough = old[^1].Id, Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = "They asked an old question." }],
        };
        var recent = new[] { new ChatMessage(ChatRole.User, "new question") }.ToSessionMessages(SessionId, time);

        var prompt = old.Append(summary).Concat(recent).ToList().ToPromptMessages();

        prompt.Should().HaveCount(2);
        prompt[0].Text.Should().Contain("They asked an old question.");
        prompt[1].Text.Should().Be("new question");
    }
}
