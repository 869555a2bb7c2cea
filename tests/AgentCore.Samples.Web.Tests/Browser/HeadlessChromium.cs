using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AgentCore.Samples.Web.Tests.Browser;

/// <summary>
/// Playwright driving one headless <see cref="Chromium"/> for a fixture's tests, with the wait every browser test gives
/// the page (<see cref="PageWait"/>). Disposing it closes the browser and its processes.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    /// <summary>How long a page action or an <c>Expect</c> waits for what the page shows.</summary>
    public static readonly TimeSpan PageWait = TimeSpan.FromSeconds(30);

    private readonly IPlaywright _playwright;

    private HeadlessChromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    /// <summary>The browser.</summary>
    public IBrowser Browser { get; }

    /// <summary>
    /// Launches the browser and makes <see cref="PageWait"/> the default wait of <c>Expect</c>; ignores the test where
    /// Chromium is not installed (<see cref="Chromium.RequireExecutable"/>).
    /// </summary>
    public static async Task<HeadlessChromium> LaunchAsync()
    {
        string executable = Chromium.RequireExecutable();
        SetDefaultExpectTimeout((float)PageWait.TotalMilliseconds);
        var playwright = await Playwright.CreateAsync();
        try
        {
            return new HeadlessChromium(playwright, await Chromium.LaunchAsync(playwright, executable));
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>Makes <see cref="PageWait"/> the default wait of <paramref name="page"/>'s actions.</summary>
    public static void UsePageWait(IPage page) => page.SetDefaultTimeout((float)PageWait.TotalMilliseconds);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
