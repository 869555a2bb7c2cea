using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

public sealed class TitleTests
{
    private static async Task WaitForTitlesAsync(EngineHarness h) =>
        await ((SessionService)h.Services.GetRequiredService<ISessionService>()).BackgroundIdle();

    [Test]
    public async Task ChatStreamingAsync_FirstTurn_GeneratesTitleOnceInTheBackground()
    {
        await using var h = new EngineHarness(o => o.GenerateTitles = true);
        var session = await h.Sessions.CreateAsync();
        session.Title.Should().StartWith("New Session - ");
        h.Client.Enqueue(r => r.Text("Sure."));
        h.Client.Enqueue(r => r.Text("<think>the user wants a poem</think>\n\n\"Poème sur la mer\"\nextra line"));

        await h.ChatAsync(session.Id, "Écris un poème sur la mer");
        await WaitForTitlesAsync(h);

        (await h.Sessions.GetAsync(session.Id)).Title.Should().Be("Poème sur la mer");
        var titleCall = h.Client.Calls[1];
        titleCall.Options!.MaxOutputTokens.Should().Be(80);
        titleCall.Messages[0].Text.Should().Contain("50 characters");
        titleCall.Messages[1].Text.Should().Be("Écris un poème sur la mer");

        h.Client.Enqueue(r => r.Text("Again."));
        await h.ChatAsync(session.Id, "another");
        await WaitForTitlesAsync(h);
        h.Client.Calls.Should().HaveCount(3, "the title is generated on the first turn only");
    }

    [Test]
    public async Task ChatStreamingAsync_UserRenamesBeforeTitleArrives_TitleIsNotOverwritten()
    {
        await using var h = new EngineHarness(o => o.GenerateTitles = true);
        var session = await h.Sessions.CreateAsync();
        var titleRequested = new TaskCompletionSource();
        var renamed = new TaskCompletionSource();
        h.Client.Enqueue(r => r.Text("Reply."));
        h.Client.Enqueue(r => r.Then(() => titleRequested.SetResult()).WaitFor(renamed.Task).Text("Generated title"));

        await h.ChatAsync(session.Id, "hello");
        await titleRequested.Task;
        await h.Sessions.UpdateAsync(session.Id, s => s with { Title = "My own title" });
        renamed.SetResult();
        await WaitForTitlesAsync(h);

        (await h.Sessions.GetAsync(session.Id)).Title.Should().Be("My own title");
    }

    [Test]
    public async Task ChatStreamingAsync_TitleCallThrows_TurnStillCompletesAndDefaultTitleStays()
    {
        await using var h = new EngineHarness(o => o.GenerateTitles = true);
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("Reply."));
        h.Client.Enqueue(r => r.Throw(new HttpRequestException("boom", null, System.Net.HttpStatusCode.InternalServerError)));

        var events = await h.ChatAsync(session.Id, "hello");
        await WaitForTitlesAsync(h);

        events.OfType<TurnCompleted>().Single().ExitReason.Should().Be("completed");
        (await h.Sessions.GetAsync(session.Id)).Title.Should().Be(session.Title);
    }

    [Test]
    public async Task ChatStreamingAsync_TitleModelSet_UsesThatModel()
    {
        await using var h = new EngineHarness(o => { o.GenerateTitles = true; o.TitleModel = "test/model-2"; });
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("Reply."));
        h.Client.Enqueue(r => r.Text("Short title"));

        await h.ChatAsync(session.Id, "hello");
        await WaitForTitlesAsync(h);

        h.Client.Calls[1].Options!.ModelId.Should().Be("model-2");
        (await h.Sessions.GetAsync(session.Id)).Title.Should().Be("Short title");
    }

    [TestCase("<think>\nlong reasoning\n</think>\nRésumé du projet", "Résumé du projet")]
    [TestCase("\n\n  “Quoted title”  \nsecond", "Quoted title")]
    [TestCase("<think>never closed", null)]
    [TestCase("   \n  ", null)]
    public void Clean_ModelOutput_KeepsFirstNonEmptyLineWithoutThinkingOrQuotes(string raw, string? expected) =>
        TitleGenerator.Clean(raw).Should().Be(expected);

    [Test]
    public void Clean_LongLine_CutTo100Characters() =>
        TitleGenerator.Clean(new string('x', 250))!.Length.Should().Be(100);
}
