using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Tests.Tools.Mcp;

public sealed class McpToolNamesTests
{
    [Test]
    public void Assign_PlainNames_ServerUnderscoreTool()
    {
        var names = McpToolNames.Assign([("github", "create_issue"), ("files", "read-file")]);

        names.Should().Equal("github_create_issue", "files_read-file");
    }

    [Test]
    public void Assign_InvalidCharacters_ReplacedWithUnderscore()
    {
        var names = McpToolNames.Assign([("docs", "search.pages/v2 (beta)"), ("docs", "naïve")]);

        names.Should().Equal("docs_search_pages_v2__beta_", "docs_na_ve");
        names.Should().OnlyContain(n => ToolNames.Valid().IsMatch(n));
    }

    [Test]
    public void Assign_TooLong_TruncatedWithStableHash()
    {
        string tool = new('a', 100);

        var first = McpToolNames.Assign([("server", tool)]);
        var again = McpToolNames.Assign([("server", tool)]);

        first[0].Should().HaveLength(64).And.StartWith("server_aaaa").And.MatchRegex("_[0-9a-f]{8}$");
        first[0].Should().Be(again[0]);
        ToolNames.Valid().IsMatch(first[0]).Should().BeTrue();
    }

    [Test]
    public void Assign_TwoLongNamesSharingAPrefix_DifferentNames()
    {
        string prefix = new('x', 70);

        var names = McpToolNames.Assign([("s", prefix + "one"), ("s", prefix + "two")]);

        names[0].Should().NotBe(names[1]);
        names.Should().OnlyContain(n => n.Length == 64 && ToolNames.Valid().IsMatch(n));
    }

    [Test]
    public void Assign_SanitizingCollision_FirstInOrderKeepsPlainName()
    {
        // "a.b" and "a_b" both sanitize to "srv_a_b"; ordinal order puts "a.b" first.
        var names = McpToolNames.Assign([("srv", "a_b"), ("srv", "a.b")]);

        names[1].Should().Be("srv_a_b");
        names[0].Should().MatchRegex("^srv_a_b_[0-9a-f]{8}$");
    }

    [Test]
    public void Assign_CollisionAcrossServers_ResolvedTheSameWayWhateverTheInputOrder()
    {
        // Server "a_b" with tool "c" and server "a" with tool "b_c" both give "a_b_c".
        var forward = McpToolNames.Assign([("a_b", "c"), ("a", "b_c")]);
        var backward = McpToolNames.Assign([("a", "b_c"), ("a_b", "c")]);

        forward.Distinct().Should().HaveCount(2);
        forward[1].Should().Be("a_b_c", "server 'a' sorts before 'a_b', so its tool keeps the plain name");
        backward.Should().Equal(forward[1], forward[0]);
    }

    [Test]
    public void Assign_ManyTools_AllValidAndUnique()
    {
        var tools = Enumerable.Range(0, 500).Select(i => ("srv", i % 2 == 0 ? $"tool.{i}" : $"tool_{i - 1}")).ToArray();

        var names = McpToolNames.Assign(tools);

        names.Should().OnlyHaveUniqueItems();
        names.Should().OnlyContain(n => ToolNames.Valid().IsMatch(n));
    }
}
