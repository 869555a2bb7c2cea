using AgentCore.Tests.Engine;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Sessions;

/// <summary>User text that is not valid Unicode is refused where it enters, naming where it is; valid text is kept exactly.</summary>
public sealed class UserTextTests
{
    private const string LoneHigh = "\uD83D";
    private const string LoneLow = "\uDE00";

    // Attribute arguments cannot hold a lone surrogate (metadata is UTF-8): H and L stand for a lone high and low surrogate.
    [TestCase("abcH", 3)]
    [TestCase("Labc", 0)]
    [TestCase("ok 😀 then Hx", 11)]
    [TestCase("xLH", 1)]
    public async Task ChatStreamingAsync_TextWithLoneSurrogate_ThrowsArgumentExceptionNamingTheIndexAndStoresNothing(string template, int index)
    {
        string text = template.Replace("H", LoneHigh, StringComparison.Ordinal).Replace("L", LoneLow, StringComparison.Ordinal);
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();

        var act = () => h.Sessions.ChatStreamingAsync(new ChatRequest { SessionId = session.Id, Text = text });

        act.Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("ChatRequest.Text").And.Contain("lone UTF-16 surrogate").And.Contain($"at index {index}");
        (await h.Sessions.GetMessagesAsync(session.Id)).Should().BeEmpty();
        (await h.Sessions.GetAsync(session.Id)).Title.Should().Be(session.Title);
    }

    [Test]
    public async Task ChatStreamingAsync_TextContentWithLoneSurrogate_ThrowsArgumentExceptionNamingTheContent()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var request = new ChatRequest
        {
            SessionId = session.Id,
            Contents = [new TextContent("fine"), new DataContent(new byte[] { 1 }, "image/png"), new TextContent("bad " + LoneHigh)],
        };

        var act = () => h.Sessions.ChatStreamingAsync(request);

        act.Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("ChatRequest.Contents[2] (TextContent)").And.Contain("at index 4");
        (await h.Sessions.GetMessagesAsync(session.Id)).Should().BeEmpty();
    }

    [Test]
    public async Task ChatAsync_SurrogatePairsAndControlCharacters_StoredExactly()
    {
        await using var h = new EngineHarness();
        h.Client.EnqueueText("ok");
        var session = await h.Sessions.CreateAsync();
        const string text = "emoji 😀👍🏽, CJK 漢字, RTL שלום, NUL \0 and U+FFFD \uFFFD";

        await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = text });

        (await h.Sessions.GetMessagesAsync(session.Id))[0].Text.Should().Be(text);
    }
}
