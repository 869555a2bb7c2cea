using System.Collections.Concurrent;
using AgentCore.TestInfrastructure;
using FluentAssertions;
using Microsoft.Playwright;
using NUnit.Framework;
using static Microsoft.Playwright.Assertions;

namespace AgentCore.Samples.Web.Tests.Browser;

/// <summary>
/// Two web sample instances on one PostgreSQL database (events across instances on): a turn runs on instance A, and a
/// page opened on instance B in the middle of the reply shows the reply from its start, then continues it live, and
/// ends with the stored message's text. The demo model on A writes a word only when the test releases it.
/// </summary>
[TestFixture]
public sealed class TwoInstancePageTests
{
    private TemporaryPostgres? _postgres;
    private HeadlessChromium? _chromium;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _ = Chromium.RequireExecutable();
        if (TemporaryPostgres.NotInstalledReason is { } notInstalled)
        {
            Assert.Ignore(notInstalled + " The two-instance page test needs it.");
        }

        try
        {
            _postgres = await TemporaryPostgres.StartAsync();
            _chromium = await HeadlessChromium.LaunchAsync();
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
        if (_chromium is not null)
        {
            await _chromium.DisposeAsync();
            _chromium = null;
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
            _postgres = null;
        }
    }

    [Test]
    public async Task Page_OnInstanceBWhileTurnRunsOnA_ShowsTheReplyContinuingAndTheTextEqualsTheStoredMessage()
    {
        var environment = new Dictionary<string, string>(ResumingReplies.TestHooks) { ["AgentCore__PostgreSql__ConnectionString"] = _postgres!.CreateDatabase() };
        await using var a = await SampleServer.StartAsync(TimeSpan.Zero, environment);
        await using var b = await SampleServer.StartAsync(TimeSpan.Zero, environment);
        var session = await a.Client.CreateSessionAsync();
        using var chat = await a.Client.PostChatAsync(session.Id(), ResumingReplies.Said);
        chat.EnsureSuccessStatusCode();
        await using var turn = chat.ReadEventsAsync().GetAsyncEnumerator();
        await a.ReleaseWordsAsync(3);
        int deltas = 0;
        while (deltas < 3 && await turn.MoveNextAsync())
        {
            deltas += turn.Current.Name == "text-delta" ? 1 : 0;
        }

        await using var context = await _chromium!.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        HeadlessChromium.UsePageWait(page);
        var pageErrors = new ConcurrentQueue<string>();
        page.PageError += (_, error) => pageErrors.Enqueue(error);
        await page.GotoAsync(b.BaseAddress.ToString());
        await Expect(page.Locator("body")).ToHaveAttributeAsync("data-ready", "true");
        await page.Locator($"#sessions li[data-session-id=\"{session.Id()}\"]").ClickAsync();

        // B shows what A has written so far, then the rest as A writes it.
        await Expect(page.Locator("#messages .message.user")).ToHaveTextAsync(ResumingReplies.Said);
        await page.ExpectWordsAsync(3);
        await Expect(page.Locator("#abort")).ToBeVisibleAsync();
        await a.ReleaseWordsAsync(ResumingReplies.Words.Length - 3);

        await page.ExpectCompleteReplyAsync(b, session.Id(), ResumingReplies.Words.Length);
        string? last = null;
        while (await turn.MoveNextAsync())
        {
            last = turn.Current.Name;
        }

        last.Should().Be("turn-completed", "A's own stream ends with the turn");
        pageErrors.Should().BeEmpty();
    }
}
