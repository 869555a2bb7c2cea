using Microsoft.Extensions.AI;

namespace AgentCore.Tests.Messages;

/// <summary>
/// The estimates compaction uses, against counts made independently with OpenAI's tiktoken (o200k_base) on the same
/// texts. Characters / 4, the estimate these replace, would say 61, 60 and 19.
/// </summary>
public sealed class TokenEstimatorTests
{
    private const string Prose =
        "The session service keeps every conversation on disk, so a crash in the middle of a turn loses nothing that was "
        + "already streamed. When the context window fills up, older messages are summarized and the summary takes their "
        + "place in the next prompt.";

    private const string Json =
        """{"files":[{"path":"src/AgentCore/Engine/Turn.cs","size":18342,"modified":"2026-11-25T09:14:03Z","lines":412},"""
        + """{"path":"src/AgentCore/Engine/Compaction.cs","size":9120,"modified":"2026-11-24T17:45:51Z","lines":236}],"truncated":false,"total":2}""";

    private const string Japanese =
        "会話はすべてディスクに保存されるので、途中でプロセスが落ちても、すでに届いた文章は失われません。文脈の上限に近づくと、古いメッセージは要約に置き換えられます。";

    [TestCase(Prose, 47, TestName = "Count_EnglishProse_MatchesTiktoken")]
    [TestCase(Json, 89, TestName = "Count_Json_MatchesTiktoken")]
    [TestCase(Japanese, 65, TestName = "Count_Japanese_MatchesTiktoken")]
    public void Count_Text_MatchesTiktoken(string text, int expected) =>
        TokenEstimator.Count(text).Should().Be(expected);

    [Test]
    public void Count_NullOrEmpty_Zero()
    {
        TokenEstimator.Count((string?)null).Should().Be(0);
        TokenEstimator.Count(string.Empty).Should().Be(0);
    }

    [Test]
    public void Count_Messages_SumsTextToolCallsAndResultsWithAnAllowanceForOtherContent()
    {
        ChatMessage[] messages =
        [
            new(ChatRole.User, Prose),
            new(ChatRole.Assistant, [new FunctionCallContent("call_1", "list_files", new Dictionary<string, object?> { ["path"] = "src" })]),
            new(ChatRole.Tool, [new FunctionResultContent("call_1", Json)]),
            new(ChatRole.User, [new TextContent(Japanese), new DataContent(new byte[] { 1, 2, 3 }, "image/png")]),
        ];
        int arguments = TokenEstimator.Count("""{"path":"src"}""");

        long tokens = TokenEstimator.Count(messages);

        arguments.Should().BePositive();
        tokens.Should().Be(47 + TokenEstimator.Count("list_files") + arguments + 89 + 65 + TokenEstimator.NonTextContentTokens);
    }
}
