using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

public sealed class TitleTests
{
    private static async Task WaitForTitlesAsync(EngineHarness h) =>
        await ((SessionService)h.Services.GetRequiredService<ISessionService>()).BackgroundIdle();

    // Titles come from their own scripted model, so the background title call and the turn never race for one queue.
    private static EngineHarness WithTitleModel(ScriptedChatClient titles) => new(
        o => { o.GenerateTitles = true; o.TitleModel = "titles/namer"; },
        b => b.AddChatClient("titles", titles, [new ModelInfo("titles", "namer", 8_000, 1_000)]));

    [Test]
    public async Task ChatStreamingAsync_FirstTurn_GeneratesTitleOnceInTheBackground()
    {
        var titles = new ScriptedChatClient().Enqueue(r => r.Text("<think>the user wants a poem</think>\n\n\"Poème sur la mer\"\nextra line"));
        await using var h = WithTitleModel(titles);
        var session = await h.Sessions.CreateAsync();
        session.Title.Should().StartWith("New Session - ");
        h.Client.Enqueue(r => r.Text("Sure.")).Enqueue(r => r.Text("Again."));

        await h.ChatAsync(session.Id, "Écris un poème sur la mer");
        await WaitForTitlesAsync(h);

        (await h.Sessions.GetAsync(session.Id)).Title.Should().Be("Poème sur la mer");
        var titleCall = titles.Calls.Should().ContainSingle().Subject;
        titleCall.Options!.MaxOutputTokens.Should().Be(80);
        titleCall.Options.ModelId.Should().Be("namer");
        titleCall.Messages[0].Text.Should().Contain("50 characters");
        titleCall.Messages[1].Text.Should().Be("Écris un poème sur la mer");

        await h.ChatAsync(session.Id, "another");
        await WaitForTitlesAsync(h);
        titles.Calls.Should().HaveCount(1, "the title is generated on the first turn only");
    }

    [Test]
    public async Task ChatStreamingAsync_UserRenamesBeforeTitleArrives_TitleIsNotOverwritten()
    {
        var titleRequested = new TaskCompletionSource();
        var renamed = new TaskCompletionSource();
        var titles = new ScriptedChatClient().Enqueue(r => r.Then(() => titleRequested.SetResult()).WaitFor(renamed.Task).Text("Generated title"));
        await using var h = WithTitleModel(titles);
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("Reply."));

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
        var titles = new ScriptedChatClient().Enqueue(r => r.Throw(new HttpRequestException("boom", null, System.Net.HttpStatusCode.InternalServerError)));
        await using var h = WithTitleModel(titles);
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("Reply."));

        var events = await h.ChatAsync(session.Id, "hello");
        await WaitForTitlesAsync(h);

        titles.Calls.Should().ContainSingle();
        events.OfType<TurnCompleted>().Single().ExitReason.Value.Should().Be("completed");
        (await h.Sessions.GetAsync(session.Id)).Title.Should().Be(session.Title);
    }

    [Test]
    public async Task ChatStreamingAsync_TitleModelNotRegistered_TurnCompletesAndDefaultTitleStays()
    {
        await using var h = new EngineHarness(o => { o.GenerateTitles = true; o.TitleModel = "titles/missing"; });
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("Reply."));

        var events = await h.ChatAsync(session.Id, "hello");
        await WaitForTitlesAsync(h);

        events.OfType<TurnCompleted>().Single().ExitReason.Value.Should().Be("completed");
        h.Client.Calls.Should().ContainSingle("no title call is made with another model when the title model is missing");
        (await h.Sessions.GetAsync(session.Id)).Title.Should().Be(session.Title);
    }

    [Test]
    public async Task ChatStreamingAsync_NoTitleModel_UsesTheTurnsModel()
    {
        await using var h = new EngineHarness(o => o.GenerateTitles = true);
        var session = await h.Sessions.CreateAsync();
        // The title call and the turn share one scripted queue and may run in either order: give both the same answer.
        h.Client.EnqueueText("Short title").EnqueueText("Short title");

        await h.ChatAsync(session.Id, "hello");
        await WaitForTitlesAsync(h);

        h.Client.Calls.Should().HaveCount(2);
        h.Client.Calls.Should().ContainSingle(c => c.Options!.MaxOutputTokens == 80).Which.Options!.ModelId.Should().Be("model-1");
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
