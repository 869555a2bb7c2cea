using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.Playwright;
using NUnit.Framework;
using NUnit.Framework.Interfaces;
using static Microsoft.Playwright.Assertions;

namespace AgentCore.Samples.Web.Tests.Browser;

/// <summary>
/// The sample's page in a real headless Chromium, driven by Playwright: a person creates a session, types a message
/// and watches the reply stream in. Every wait is for what the page shows (Playwright's auto-waiting locators and
/// <c>Expect</c>), never for a time. Skipped only where Chromium is not installed.
/// Screenshots go to artifacts/screenshots for people to look at.
/// </summary>
[TestFixture]
public sealed class WebPageTests
{
    private static readonly TimeSpan PageWait = TimeSpan.FromSeconds(30);

    private readonly ConcurrentQueue<string> _pageErrors = new();
    private SampleServer? _server;
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private IPage? _page;

    private IPage Page => _page!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        string executable = Chromium.RequireExecutable();
        SetDefaultExpectTimeout((float)PageWait.TotalMilliseconds);
        try
        {
            _server = await SampleServer.StartAsync(wordDelay: TimeSpan.FromMilliseconds(30));
            _playwright = await Playwright.CreateAsync();
            _browser = await Chromium.LaunchAsync(_playwright, executable);
            _page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
            _page.SetDefaultTimeout((float)PageWait.TotalMilliseconds);
            _page.PageError += (_, error) => _pageErrors.Enqueue("uncaught: " + error);
            _page.Console += (_, message) =>
            {
                // The browser asks for /favicon.ico on its own and the sample serves none: not an error of the page.
                if (message.Type == "error" && !message.Location.Contains("/favicon.ico", StringComparison.Ordinal))
                {
                    _pageErrors.Enqueue("console.error: " + message.Text + " at " + message.Location);
                }
            };
        }
        catch
        {
            // Nothing started is left behind, whether or not NUnit runs the one-time tear-down after a failed set-up.
            await StopAsync();
            throw;
        }
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
            _browser = null;
            _page = null;
        }

        _playwright?.Dispose();
        _playwright = null;
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    [SetUp]
    public void ForgetEarlierPageErrors() => TakePageErrors();

    [TearDown]
    public async Task ScreenshotFailureAsync()
    {
        if (_page is not null && TestContext.CurrentContext.Result.Outcome.Status == TestStatus.Failed)
        {
            await SaveScreenshotAsync(TestContext.CurrentContext.Test.Name + "-failed.png");
        }
    }

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
        var stored = await _server!.Client.GetFromJsonAsync<JsonElement>($"api/sessions/{sessionId}");
        decimal.Parse(shownCost, NumberStyles.Float, CultureInfo.InvariantCulture).Should().Be(stored.GetProperty("cost").GetDecimal());
        stored.GetProperty("title").GetString().Should().Be("Hello from the browser");

        await SaveScreenshotAsync("web-sample.png");
        TakePageErrors().Should().BeEmpty();
    }

    [Test]
    public async Task Page_SelectStoredSession_ShowsItsMessagesWithTheToolCall()
    {
        var session = await _server!.Client.CreateSessionAsync("Stored conversation");
        var events = await _server.Client.ChatAsync(session.Id(), "What time is it?");
        events[^1].Name.Should().Be("turn-completed");
        var messages = await _server.Client.GetFromJsonAsync<JsonElement[]>($"api/sessions/{session.Id()}/messages");
        string storedReply = string.Concat(messages![1].GetProperty("parts").EnumerateArray()
            .Where(p => p.GetProperty("type").GetString() == "text").Select(p => p.GetProperty("text").GetString()));

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

    private async Task OpenPageAsync()
    {
        await Page.GotoAsync(_server!.BaseAddress.ToString());
        await Expect(Page.Locator("body")).ToHaveAttributeAsync("data-ready", "true");
    }

    /// <summary>Returns and forgets the page's uncaught exceptions and <c>console.error</c> calls so far, in order.</summary>
    private List<string> TakePageErrors()
    {
        var errors = new List<string>();
        while (_pageErrors.TryDequeue(out string? error))
        {
            errors.Add(error);
        }

        return errors;
    }

    private async Task SaveScreenshotAsync(string fileName)
    {
        string folder = Path.Combine(SampleServer.RepositoryRoot(), "artifacts", "screenshots");
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, fileName);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path });
        TestContext.AddTestAttachment(path, "The web sample's page");
    }
}
