using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using static Microsoft.Playwright.Assertions;

namespace AgentCore.Samples.Web.Tests.Browser;

/// <summary>
/// The search box and the share link in a real headless Chromium (see <see cref="PageFixture"/>): a search finds a
/// message and opens it; a shared link shows the conversation read-only; a revoked link shows nothing.
/// </summary>
[TestFixture]
public sealed class SearchAndSharePageTests() : PageFixture(TimeSpan.Zero)
{
    [Test]
    public async Task SearchBox_WordOfAnOlderSession_ListsTheHitAndOpensItsMessage()
    {
        var wanted = await Server.Client.CreateSessionAsync("Amphibians");
        await Server.Client.ChatAsync(wanted.Id(), "The axolotl regrows its limbs");
        var other = await Server.Client.CreateSessionAsync("Something else");
        await Server.Client.ChatAsync(other.Id(), "Nothing about that animal");
        var messages = (await Server.Client.GetFromJsonAsync<JsonElement[]>($"api/sessions/{wanted.Id()}/messages"))!;

        await OpenPageAsync();
        await Page.Locator("#search-text").FillAsync("axolotl limbs");
        await Page.Locator("#search-button").ClickAsync();

        var hit = Page.Locator($"#search-results li[data-message-id=\"{messages[0].Id()}\"]");
        await Expect(hit).ToHaveCountAsync(1);
        await Expect(hit.Locator("mark")).ToHaveTextAsync(["axolotl", "limbs"]);
        await Expect(hit.Locator(".where")).ToContainTextAsync("Amphibians");
        await hit.ClickAsync();

        await Expect(Page.Locator("#session-title")).ToHaveTextAsync("Amphibians");
        var found = Page.Locator("#messages .message.found");
        await Expect(found).ToHaveCountAsync(1);
        (await found.GetAttributeAsync("data-message-id")).Should().Be(messages[0].Id());
        await Expect(found).ToHaveTextAsync("The axolotl regrows its limbs");
        await SaveScreenshotAsync("web-sample-search.png");
        TakePageErrors().Should().BeEmpty();
    }

    [Test]
    public async Task ShareLink_OpenedThenRevoked_ShowsTheConversationReadOnlyThenNothing()
    {
        var session = await Server.Client.CreateSessionAsync("Shared in the browser");
        await Server.Client.ChatAsync(session.Id(), "Hello, reader");

        await OpenPageAsync();
        await Page.Locator($"#sessions li[data-session-id=\"{session.Id()}\"]").ClickAsync();
        await Expect(Page.Locator("#session-title")).ToHaveTextAsync("Shared in the browser");
        await Page.Locator("#share").ClickAsync();
        var url = Page.Locator("#share-url");
        await Expect(url).ToBeVisibleAsync();
        string link = await url.InputValueAsync();
        link.Should().StartWith(Server.BaseAddress + "shared.html#");

        // Another browser context: a visitor who shares nothing with the page that made the link.
        await using var visitor = await Page.Context.Browser!.NewContextAsync();
        var reader = await visitor.NewPageAsync();
        await reader.GotoAsync(link);
        await Expect(reader.Locator("body")).ToHaveAttributeAsync("data-ready", "true");
        await Expect(reader.Locator("#title")).ToHaveTextAsync("Shared in the browser");
        await Expect(reader.Locator(".message")).ToHaveCountAsync(2);
        await Expect(reader.Locator(".message.user")).ToHaveTextAsync("Hello, reader");
        await Expect(reader.Locator(".message.assistant")).ToHaveTextAsync(SampleApi.DemoReply("Hello, reader"));
        await Expect(reader.Locator("form, textarea, input, button, a")).ToHaveCountAsync(0);
        (await reader.ContentAsync()).Should().NotContain(session.Id());

        await Page.Locator("#revoke").ClickAsync();
        await Expect(url).ToBeHiddenAsync();
        await reader.ReloadAsync();
        await Expect(reader.Locator("body")).ToHaveAttributeAsync("data-ready", "true");
        await Expect(reader.Locator("#title")).ToHaveTextAsync("Not shared");
        await Expect(reader.Locator(".message")).ToHaveCountAsync(0);
        TakePageErrors().Should().BeEmpty();
    }
}
