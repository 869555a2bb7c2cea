using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using NUnit.Framework.Interfaces;

namespace AgentCore.Samples.Web.Tests.Browser;

/// <summary>
/// The sample's page in a real headless Chromium, driven over the DevTools protocol: a person creates a session,
/// types a message and watches the reply stream in. Skipped only where Chromium is not installed.
/// Screenshots go to artifacts/screenshots for people to look at.
/// </summary>
[TestFixture]
public sealed class WebPageTests
{
    private static readonly TimeSpan PageWait = TimeSpan.FromSeconds(30);

    private SampleServer? _server;
    private Chromium? _browser;
    private DevToolsSession? _page;

    private DevToolsSession Page => _page!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        string executable = Chromium.RequireExecutable();
        try
        {
            _server = await SampleServer.StartAsync(wordDelay: TimeSpan.FromMilliseconds(30));
            _browser = await Chromium.LaunchAsync(executable);
            _page = await _browser.OpenPageAsync();
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
        if (_page is not null)
        {
            await _page.DisposeAsync();
            _page = null;
        }

        if (_browser is not null)
        {
            await _browser.DisposeAsync();
            _browser = null;
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    [SetUp]
    public void ForgetEarlierPageErrors() => _page?.TakePageErrors();

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

        await Page.ClickAsync("#new-session");
        string sessionId = (await Page.WaitForAsync(
            "!document.querySelector('#prompt').disabled && document.querySelector('#sessions li.selected')?.dataset.sessionId",
            PageWait, "the new session to be listed and selected")).GetString()!;
        await Page.ClickAsync("#prompt");
        await Page.TypeAsync("Hello from the browser");
        await Page.ClickAsync("#send");

        var reply = await Page.WaitForAsync("""
            (() => {
              const message = document.querySelector('#messages .message.assistant[data-complete="true"]');
              return message && {
                text: [...message.querySelectorAll('.text')].map((part) => part.textContent).join(''),
                deltas: Number(message.dataset.deltas),
                exitReason: message.dataset.exitReason,
                user: document.querySelector('#messages .message.user').textContent,
              };
            })()
            """, PageWait, "the streamed reply to complete");

        string expected = SampleApi.DemoReply("Hello from the browser");
        reply.GetProperty("text").GetString().Should().Be(expected);
        reply.GetProperty("exitReason").GetString().Should().Be("completed");
        reply.GetProperty("user").GetString().Should().Be("Hello from the browser");
        reply.GetProperty("deltas").GetInt32().Should().Be(expected.Split(' ').Length, "the page renders each streamed word as it arrives");

        // The title is generated in the background after the turn; the page learns it from /api/events.
        string title = (await Page.WaitForAsync(
            $"document.querySelector('#sessions li[data-session-id=\"{sessionId}\"] .title')?.textContent === 'Hello from the browser' " +
            "&& document.querySelector('#session-title').textContent",
            PageWait, "the generated title in the list and the header")).GetString()!;
        title.Should().Be("Hello from the browser");

        string shownCost = (await Page.WaitForAsync(
            "Number(document.querySelector('#session-cost').dataset.cost) > 0 && document.querySelector('#session-cost').dataset.cost",
            PageWait, "the session's cost in the header")).GetString()!;
        var stored = await _server!.Client.GetFromJsonAsync<JsonElement>($"api/sessions/{sessionId}");
        decimal.Parse(shownCost, NumberStyles.Float, CultureInfo.InvariantCulture).Should().Be(stored.GetProperty("cost").GetDecimal());
        stored.GetProperty("title").GetString().Should().Be("Hello from the browser");

        await SaveScreenshotAsync("web-sample.png");
        Page.TakePageErrors().Should().BeEmpty();
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
        await Page.WaitForAsync($"document.querySelector('#sessions li[data-session-id=\"{session.Id()}\"]')", PageWait, "the stored session in the list");
        await Page.ClickAsync($"#sessions li[data-session-id=\"{session.Id()}\"]");

        var shown = await Page.WaitForAsync("""
            (() => {
              const message = document.querySelector('#messages .message.assistant[data-complete="true"]');
              const tool = message && message.querySelector('.tool');
              return tool && {
                text: [...message.querySelectorAll('.text')].map((part) => part.textContent).join(''),
                tool: tool.textContent,
                toolState: tool.dataset.state,
                user: document.querySelector('#messages .message.user').textContent,
                header: document.querySelector('#session-title').textContent,
              };
            })()
            """, PageWait, "the stored messages");

        shown.GetProperty("user").GetString().Should().Be("What time is it?");
        shown.GetProperty("text").GetString().Should().Be(storedReply).And.StartWith("The current_time tool says it is ");
        shown.GetProperty("tool").GetString().Should().StartWith("tool current_time (completed): ");
        shown.GetProperty("toolState").GetString().Should().Be("completed");
        shown.GetProperty("header").GetString().Should().Be("Stored conversation");
        Page.TakePageErrors().Should().BeEmpty();
    }

    private async Task OpenPageAsync()
    {
        await Page.NavigateAsync(_server!.BaseAddress);
        await Page.WaitForAsync("document.body.dataset.ready === 'true'", PageWait, "the page to load its sessions");
    }

    private async Task SaveScreenshotAsync(string fileName)
    {
        string folder = Path.Combine(SampleServer.RepositoryRoot(), "artifacts", "screenshots");
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, fileName);
        await File.WriteAllBytesAsync(path, await Page.ScreenshotAsync());
        TestContext.AddTestAttachment(path, "The web sample's page");
    }
}
