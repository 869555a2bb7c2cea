using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using AgentCore.Samples.Web.Tests.Browser;
using FluentAssertions;
using Microsoft.Playwright;
using NUnit.Framework;
using static Microsoft.Playwright.Assertions;

namespace AgentCore.Samples.Web.Tests;

/// <summary>
/// The page's Approve and Deny buttons in a real headless Chromium (Playwright, as the other page tests): the demo
/// model's <c>save_note</c> call waits for approval, the button answers it and the turn goes on. Every wait is for what
/// the page shows. Skipped only where Chromium is not installed.
/// </summary>
[TestFixture]
public sealed class ApprovalPageTests
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
            _server = await SampleServer.StartAsync(wordDelay: TimeSpan.Zero);
            _playwright = await Playwright.CreateAsync();
            _browser = await Chromium.LaunchAsync(_playwright, executable);
            _page = await _browser.NewPageAsync();
            _page.SetDefaultTimeout((float)PageWait.TotalMilliseconds);
            _page.PageError += (_, error) => _pageErrors.Enqueue("uncaught: " + error);
        }
        catch
        {
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
        }

        _playwright?.Dispose();
        _playwright = null;
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    [TestCase(true, "completed", "saved the note")]
    [TestCase(false, "error", "not run: the user rejected this call: denied in the web page")]
    public async Task Page_ApproveOrDeny_AnswersTheWaitingCallAndTheReplyFollows(bool approve, string state, string result)
    {
        await Page.GotoAsync(_server!.BaseAddress.ToString());
        await Expect(Page.Locator("body")).ToHaveAttributeAsync("data-ready", "true");
        await Page.Locator("#new-session").ClickAsync();
        await Expect(Page.Locator("#prompt")).ToBeEnabledAsync();
        string sessionId = (await Page.Locator("#sessions li.selected").GetAttributeAsync("data-session-id"))!;
        await Page.Locator("#prompt").PressSequentiallyAsync("save a note: buy milk");
        await Page.Locator("#send").ClickAsync();

        var waiting = Page.Locator(".tool[data-state=\"awaitingapproval\"]");
        await Expect(waiting).ToHaveCountAsync(1);
        await Expect(Page.Locator("#messages .message.assistant[data-exit-reason=\"awaiting_approval\"]")).ToHaveCountAsync(1);
        await waiting.Locator(approve ? "button.approve" : "button.deny").ClickAsync();

        var tool = Page.Locator($".tool[data-state=\"{state}\"]");
        await Expect(tool).ToHaveCountAsync(1);
        (await tool.TextContentAsync()).Should().Contain(result);
        var reply = Page.Locator("#messages .message.assistant[data-exit-reason=\"completed\"]");
        await Expect(reply).ToHaveCountAsync(1);
        (await reply.Locator(".text").AllTextContentsAsync()).Should().ContainSingle().Which.Should().StartWith("The save_note tool says: ");
        var pending = await _server.Client.GetFromJsonAsync<JsonElement>($"api/sessions/{sessionId}/approvals");
        pending.GetArrayLength().Should().Be(0);
        _pageErrors.Should().BeEmpty();
    }
}
