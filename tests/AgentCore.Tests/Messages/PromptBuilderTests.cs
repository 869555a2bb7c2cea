using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Messages;

public sealed class PromptBuilderTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Test]
    public void ForStep_SystemSections_OneSystemMessageFirstWithOneTextPerSection()
    {
        var question = Message(ChatRole.User, "question");

        var prompt = PromptBuilder.ForStep(["base", "environment"], [question]);

        prompt.Should().HaveCount(2);
        prompt[0].Role.Should().Be(ChatRole.System);
        prompt[0].Contents.OfType<TextContent>().Select(static c => c.Text).Should().Equal("base", "environment");
        prompt[1].Role.Should().Be(ChatRole.User);
        prompt[1].Text.Should().Be("question");
    }

    [Test]
    public void AppendConversation_SummaryWrittenDuringATurn_KeepsTheTurnsMessagesAfterWhatItCovers()
    {
        // Compaction inside a turn keeps the turn's user message: the summary is newer than it, but covers only what came before.
        var old = Message(ChatRole.User, "old question");
        var oldAnswer = Message(ChatRole.Assistant, "old answer");
        var current = Message(ChatRole.User, "current question");
        var summary = Summary("They asked an old question.", summarizedThrough: oldAnswer.Id);
        var prompt = new List<ChatMessage>();

        PromptBuilder.AppendConversation([old, oldAnswer, current, summary], prompt);

        prompt.Should().HaveCount(2);
        prompt[0].Role.Should().Be(ChatRole.User);
        prompt[0].Text.Should().Contain("<summary>\nThey asked an old question.\n</summary>");
        prompt[1].Text.Should().Be("current question");
    }

    [Test]
    public void AppendConversation_LatestSummaryFailed_StartsFromTheEarlierSummary()
    {
        var first = Message(ChatRole.User, "first");
        var earlier = Summary("earlier summary", summarizedThrough: first.Id);
        var second = Message(ChatRole.User, "second");
        var failed = Summary("", summarizedThrough: second.Id);
        failed.Error = new MessageError(MessageErrorKind.Api, "rate limited", 429);
        var prompt = new List<ChatMessage>();

        PromptBuilder.AppendConversation([first, earlier, second, failed], prompt);

        PromptBuilder.LastSummaryIndex([first, earlier, second, failed]).Should().Be(1);
        prompt.Should().HaveCount(2);
        prompt[0].Text.Should().Contain("earlier summary");
        prompt[1].Text.Should().Be("second");
    }

    [Test]
    public void LastSummaryIndex_NoSummary_MinusOne()
    {
        PromptBuilder.LastSummaryIndex([Message(ChatRole.User, "hello")]).Should().Be(-1);
    }

    private static SessionMessage Message(ChatRole role, string text) => new()
    {
        Id = Identifier.Create(IdKind.Message),
        SessionId = "ses_x",
        Role = role,
        CreatedAt = At,
        CompletedAt = At,
        Parts = [new TextPart { Id = Identifier.Create(IdKind.Part), Text = text }],
    };

    private static SessionMessage Summary(string text, string summarizedThrough)
    {
        var summary = Message(ChatRole.Assistant, text);
        summary.IsSummary = true;
        summary.SummarizedThrough = summarizedThrough;
        return summary;
    }
}
