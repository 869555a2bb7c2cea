using FluentAssertions;
using NUnit.Framework;
using static Microsoft.Playwright.Assertions;

namespace AgentCore.Samples.Web.Tests.Browser;

/// <summary>
/// A reply survives the page: reloaded, or with its connection broken, in the middle of a reply, the page shows the
/// reply continuing from where it was, each word once, and ends with the stored message's text. The demo model writes
/// a word only when the test releases it (the sample's test hooks), so the reload and the drops land mid-reply.
/// </summary>
[TestFixture]
public sealed class ResumePageTests() : PageFixture(TimeSpan.Zero, ResumingReplies.TestHooks)
{
    [Test]
    public async Task Page_ReloadedMidReply_ShowsTheReplyContinuingAndTheTextEqualsTheStoredMessage()
    {
        string sessionId = await StartReplyAsync();
        await Server.ReleaseWordsAsync(3);
        await Page.ExpectWordsAsync(3);

        await Page.ReloadAsync();
        await Expect(Page.Locator("body")).ToHaveAttributeAsync("data-ready", "true");

        // The same session, its reply replayed from its start: the three words, then the rest as it comes.
        await Expect(Page.Locator("#sessions li.selected")).ToHaveAttributeAsync("data-session-id", sessionId);
        await Expect(Page.Locator("#messages .message.user")).ToHaveTextAsync(ResumingReplies.Said);
        await Page.ExpectWordsAsync(3);
        await Expect(Page.Locator("#abort")).ToBeVisibleAsync();
        await Server.ReleaseWordsAsync(2);
        await Page.ExpectWordsAsync(5);
        await Server.ReleaseWordsAsync(ResumingReplies.Words.Length - 5);

        await Page.ExpectCompleteReplyAsync(Server, sessionId, ResumingReplies.Words.Length);
        await Expect(Page.Locator("#messages .message.user")).ToHaveCountAsync(1);
        TakePageErrors().Should().BeEmpty();
    }

    [Test]
    public async Task Page_ConnectionDroppedTwiceMidReply_ResumesFromTheLastEventIdAndTheTextEqualsTheStoredMessage()
    {
        string sessionId = await StartReplyAsync();
        await Server.ReleaseWordsAsync(3);
        await Page.ExpectWordsAsync(3);

        // The chat stream breaks: the page follows the rest with Last-Event-ID.
        (await Server.DropStreamsAsync()).Should().BeGreaterThan(0);
        await Server.ReleaseWordsAsync(2);
        await Page.ExpectWordsAsync(5);

        // Then that stream breaks too: the page follows again from the last id it rendered.
        (await Server.DropStreamsAsync()).Should().BeGreaterThan(0);
        await Server.ReleaseWordsAsync(ResumingReplies.Words.Length - 5);

        await Page.ExpectCompleteReplyAsync(Server, sessionId, ResumingReplies.Words.Length);
        // The broken responses are the browser's network errors, not the page's.
        TakePageErrors().Should().OnlyContain(error => error.Contains("net::ERR_", StringComparison.Ordinal));
    }

    /// <summary>Opens the page, creates a session and sends the message; the demo model then waits for released words.</summary>
    private async Task<string> StartReplyAsync()
    {
        await OpenPageAsync();
        await Page.Locator("#new-session").ClickAsync();
        var selected = Page.Locator("#sessions li.selected");
        await Expect(selected).ToHaveCountAsync(1);
        await Expect(Page.Locator("#prompt")).ToBeEnabledAsync();
        string sessionId = (await selected.GetAttributeAsync("data-session-id"))!;
        await Page.Locator("#prompt").FillAsync(ResumingReplies.Said);
        await Page.Locator("#send").ClickAsync();
        await Expect(Page.Locator("#abort")).ToBeVisibleAsync();
        return sessionId;
    }
}
