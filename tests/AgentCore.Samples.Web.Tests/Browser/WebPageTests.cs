using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.Playwright;
using NUnit.Framework;
using static Microsoft.Playwright.Assertions;

namespace AgentCore.Samples.Web.Tests.Browser;

/// <summary>
/// The sample's page in a real headless Chromium, driven by Playwright (see <see cref="PageFixture"/>): a person creates
/// a session, types a message and watches the reply stream in. Screenshots go to artifacts/screenshots for people to look at.
/// </summary>
[TestFixture]
public sealed class WebPageTests() : PageFixture(TimeSpan.FromMilliseconds(30))
{
    [Test]
    public async Task Page_NewSessionAndSend_StreamsTheReplyThenShowsTitleAndCost()
    {
        await OpenPageAsync();

        await Page.Locator("#new-session").ClickAsync();
        var selected = Page.Locator("#sessions li.selected");
        await Expect(selected).ToHaveCountAsync(1);
        await Expect(Page.Locator("#prompt")).ToBeEnabledAsync();
        string sessionId = (await selected.GetAttributeAsync("data-session-id"))!;
        await Page.Locator("#prompt").PressSequentiallyAsync("Hello from the browser");
        await Page.Locator("#send").ClickAsync();

        var reply = Page.Locator("#messages .message.assistant[data-complete=\"true\"]");
        await Expect(reply).ToHaveCountAsync(1);
        string expected = SampleApi.DemoReply("Hello from the browser");
        string.Concat(await reply.Locator(".text").AllTextContentsAsync()).Should().Be(expected);
        (await reply.GetAttributeAsync("data-exit-reason")).Should().Be("completed");
        (await Page.Locator("#messages .message.user").TextContentAsync()).Should().Be("Hello from the browser");
        int.Parse((await reply.GetAttributeAsync("data-deltas"))!, CultureInfo.InvariantCulture)
            .Should().Be(expected.Split(' ').Length, "the page renders each streamed word as it arrives");

        // The title is generated in the background after the turn; the page learns it from /api/events.
        await Expect(Page.Locator($"#sessions li[data-session-id=\"{sessionId}\"] .title")).ToHaveTextAsync("Hello from the browser");
        await Expect(Page.Locator("#session-title")).ToHaveTextAsync("Hello from the browser");

        var cost = Page.Locator("#session-cost");
        await Expect(cost).ToHaveAttributeAsync("data-cost", new Regex("[1-9]"));
        string shownCost = (await cost.GetAttributeAsync("data-cost"))!;
        var stored = await Server.Client.GetFromJsonAsync<JsonElement>($"api/sessions/{sessionId}");
        decimal.Parse(shownCost, NumberStyles.Float, CultureInfo.InvariantCulture).Should().Be(stored.GetProperty("cost").GetDecimal());
        stored.GetProperty("title").GetString().Should().Be("Hello from the browser");

        await SaveScreenshotAsync("web-sample.png");
        TakePageErrors().Should().BeEmpty();
    }

    [Test]
    public async Task Page_SelectStoredSession_ShowsItsMessagesWithTheToolCall()
    {
        var session = await Server.Client.CreateSessionAsync("Stored conversation");
        var events = await Server.Client.ChatAsync(session.Id(), "What time is it?");
        events[^1].Name.Should().Be("turn-completed");
        var messages = await Server.Client.GetFromJsonAsync<JsonElement[]>($"api/sessions/{session.Id()}/messages");
        string storedReply = SampleApi.TextOf(messages![1]);

        await OpenPageAsync();
        await Page.Locator($"#sessions li[data-session-id=\"{session.Id()}\"]").ClickAsync();

        var reply = Page.Locator("#messages .message.assistant[data-complete=\"true\"]");
        var tool = reply.Locator(".tool");
        await Expect(tool).ToHaveCountAsync(1);
        await Expect(Page.Locator("#session-title")).ToHaveTextAsync("Stored conversation");
        (await Page.Locator("#messages .message.user").TextContentAsync()).Should().Be("What time is it?");
        string.Concat(await reply.Locator(".text").AllTextContentsAsync()).Should().Be(storedReply).And.StartWith("The current_time tool says it is ");
        (await tool.TextContentAsync()).Should().StartWith("tool current_time (completed): ");
        (await tool.GetAttributeAsync("data-state")).Should().Be("completed");
        TakePageErrors().Should().BeEmpty();
    }
}
