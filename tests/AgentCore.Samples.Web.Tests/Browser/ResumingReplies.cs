using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AgentCore.Samples.Web.Tests.Browser;

/// <summary>
/// What the resume tests share: the sample's test hooks (<c>Demo:TestHooks</c>: the demo model writes a word only when
/// released, <c>POST api/test/drop-streams</c> breaks the open event streams) and the checks on the page's reply.
/// </summary>
internal static class ResumingReplies
{
    /// <summary>The environment that turns the sample's test hooks on.</summary>
    public static readonly IReadOnlyDictionary<string, string> TestHooks = new Dictionary<string, string> { ["Demo__TestHooks"] = "true" };

    /// <summary>What the tests say: the reply is long enough to reconnect in the middle of it.</summary>
    public const string Said = "tell me something long";

    /// <summary>The demo model's reply to <see cref="Said"/>, word by word as it streams them.</summary>
    public static string[] Words => SampleApi.DemoReply(Said).Split(' ');

    /// <summary>The text of the first <paramref name="count"/> words, as the page shows them.</summary>
    public static string FirstWords(int count) => string.Join(' ', Words.Take(count));

    /// <summary>Lets the demo model of <paramref name="server"/> write <paramref name="words"/> more words.</summary>
    public static async Task ReleaseWordsAsync(this SampleServer server, int words)
    {
        using var response = await server.Client.PostAsync($"api/test/release?words={words.ToString(CultureInfo.InvariantCulture)}", content: null);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Breaks every event stream <paramref name="server"/> serves; returns how many it broke.</summary>
    public static async Task<int> DropStreamsAsync(this SampleServer server)
    {
        using var response = await server.Client.PostAsync("api/test/drop-streams", content: null);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("dropped").GetInt32();
    }

    /// <summary>The page's reply being written (or written).</summary>
    public static ILocator Reply(this IPage page) => page.Locator("#messages .message.assistant").Last;

    /// <summary>Waits until the page's reply shows exactly the first <paramref name="count"/> words.</summary>
    public static async Task ExpectWordsAsync(this IPage page, int count) =>
        await Expect(page.Reply().Locator(".text")).ToHaveTextAsync(FirstWords(count));

    /// <summary>
    /// Waits until the page's reply is complete, then checks that its text is the stored message's, that every word
    /// was rendered once (one delta each since the reply's element was made), and that the page is idle again.
    /// </summary>
    public static async Task ExpectCompleteReplyAsync(this IPage page, SampleServer server, string sessionId, int deltasInElement)
    {
        var reply = page.Locator("#messages .message.assistant[data-complete=\"true\"]");
        await Expect(reply).ToHaveCountAsync(1);
        string shown = string.Concat(await reply.Locator(".text").AllTextContentsAsync());
        var messages = (await server.Client.GetFromJsonAsync<JsonElement[]>($"api/sessions/{sessionId}/messages"))!;
        shown.Should().Be(SampleApi.TextOf(messages[^1])).And.Be(SampleApi.DemoReply(Said));
        (await reply.GetAttributeAsync("data-deltas")).Should().Be(deltasInElement.ToString(CultureInfo.InvariantCulture), "no event is rendered twice");
        (await reply.GetAttributeAsync("data-exit-reason")).Should().Be("completed");
        await Expect(page.Locator("#send")).ToBeEnabledAsync();
        await Expect(page.Locator("#abort")).ToBeHiddenAsync();
    }
}
