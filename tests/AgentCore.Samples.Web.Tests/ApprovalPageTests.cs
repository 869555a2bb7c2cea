using System.Net.Http.Json;
using System.Text.Json;
using AgentCore.Samples.Web.Tests.Browser;
using FluentAssertions;
using Microsoft.Playwright;
using NUnit.Framework;
using static Microsoft.Playwright.Assertions;

namespace AgentCore.Samples.Web.Tests;

/// <summary>
/// The page's Approve and Deny buttons in a real headless Chromium (see <see cref="PageFixture"/>): the demo model's
/// <c>save_note</c> call waits for approval, the button answers it and the turn goes on.
/// </summary>
[TestFixture]
public sealed class ApprovalPageTests() : PageFixture(TimeSpan.Zero)
{
    [TestCase(true, "completed", "saved the note")]
    [TestCase(false, "error", "not run: the user rejected this call: denied in the web page")]
    public async Task Page_ApproveOrDeny_AnswersTheWaitingCallAndTheReplyFollows(bool approve, string state, string result)
    {
        await OpenPageAsync();
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
        var pending = await Server.Client.GetFromJsonAsync<JsonElement>($"api/sessions/{sessionId}/approvals");
        pending.GetArrayLength().Should().Be(0);
        TakePageErrors().Should().BeEmpty();
    }
}
