using System.Collections.Concurrent;
using Microsoft.Playwright;
using NUnit.Framework;
using NUnit.Framework.Interfaces;
using static Microsoft.Playwright.Assertions;

namespace AgentCore.Samples.Web.Tests.Browser;

/// <summary>
/// A fixture whose tests drive the sample's page in one real headless Chromium (Playwright) against one running web
/// sample. Every wait is for what the page shows (Playwright's auto-waiting locators and <c>Expect</c>), never for a
/// time. The page's uncaught exceptions and <c>console.error</c> calls are collected per test; a failed test leaves a
/// screenshot in artifacts/screenshots. Skipped only where Chromium is not installed.
/// </summary>
/// <param name="wordDelay">How long the sample's demo model waits between words.</param>
/// <param name="environment">Environment variables for the sample, if any (e.g. <c>Demo__TestHooks</c>).</param>
public abstract class PageFixture(TimeSpan wordDelay, IReadOnlyDictionary<string, string>? environment = null)
{
    private readonly ConcurrentQueue<string> _pageErrors = new();
    private SampleServer? _server;
    private HeadlessChromium? _chromium;
    private IPage? _page;

    private protected SampleServer Server => _server!;

    private protected IPage Page => _page!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _chromium = await HeadlessChromium.LaunchAsync();
        try
        {
            _server = await SampleServer.StartAsync(wordDelay, environment);
            _page = await _chromium.Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
            HeadlessChromium.UsePageWait(_page);
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
        if (_chromium is not null)
        {
            await _chromium.DisposeAsync();
            _chromium = null;
            _page = null;
        }

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

    /// <summary>Opens the sample's page and waits until its script says it is ready.</summary>
    private protected async Task OpenPageAsync()
    {
        await Page.GotoAsync(Server.BaseAddress.ToString());
        await Expect(Page.Locator("body")).ToHaveAttributeAsync("data-ready", "true");
    }

    /// <summary>Returns and forgets the page's uncaught exceptions and <c>console.error</c> calls so far, in order.</summary>
    private protected List<string> TakePageErrors()
    {
        var errors = new List<string>();
        while (_pageErrors.TryDequeue(out string? error))
        {
            errors.Add(error);
        }

        return errors;
    }

    /// <summary>Saves a screenshot of the page to artifacts/screenshots and attaches it to the test.</summary>
    private protected async Task SaveScreenshotAsync(string fileName)
    {
        string folder = Path.Combine(SampleServer.RepositoryRoot(), "artifacts", "screenshots");
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, fileName);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path });
        TestContext.AddTestAttachment(path, "The web sample's page");
    }
}
