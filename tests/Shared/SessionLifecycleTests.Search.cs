using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.TestInfrastructure;

/// <summary>
/// <see cref="ISessionService.SearchAsync"/> over one store: what turns write is found, and every lifecycle change (fork,
/// revert, unrevert, the turn after a revert, delete, purge, import) is reflected by the next search.
/// </summary>
public abstract partial class SessionLifecycleTests
{
    [Test]
    public async Task SearchAsync_AfterTurns_FindsWhatTheUserAndTheModelWrote()
    {
        var h = NewHarness();
        var session = await h.Sessions.CreateAsync();
        await h.TurnAsync(session.Id, "How do I configure the reverse proxy?", "Set the upstream in proxy.conf, then reload.", 10, 5);
        var messages = await h.Sessions.GetMessagesAsync(session.Id);

        var user = await h.Sessions.SearchAsync(new SessionSearchQuery("reverse prox"));
        var answer = await h.Sessions.SearchAsync(new SessionSearchQuery("upstream"));

        user.Should().ContainSingle().Which.Should().BeEquivalentTo(new
        {
            SessionId = session.Id,
            MessageId = messages[0].Id,
            Role = ChatRole.User,
            Source = SessionSearchSource.Text,
            CreatedAt = messages[0].CreatedAt,
        });
        user[0].Snippet.Text.Should().Be("How do I configure the reverse proxy?");
        user[0].Snippet.Highlights.Should().Equal(new SearchHighlight(23, 7), new SearchHighlight(31, 5));
        answer.Should().ContainSingle().Which.MessageId.Should().Be(messages[1].Id);
        answer[0].Role.Should().Be(ChatRole.Assistant);
        (await h.Sessions.SearchAsync(new SessionSearchQuery("proxy nothing"))).Should().BeEmpty();
    }

    [Test]
    public async Task SearchAsync_Fork_FindsTheOriginalAndTheCopy()
    {
        var h = NewHarness();
        var source = await h.Sessions.CreateAsync();
        await h.TurnAsync(source.Id, "tell me about capybaras", "capybaras are large rodents", 10, 5);

        var fork = await h.Sessions.ForkAsync(source.Id);

        var hits = await h.Sessions.SearchAsync(new SessionSearchQuery("capybaras rodents"));
        hits.Select(static hit => hit.SessionId).Should().BeEquivalentTo([source.Id, fork.Id]);
        var forkMessages = await h.Sessions.GetMessagesAsync(fork.Id);
        hits.Single(hit => hit.SessionId == fork.Id).MessageId.Should().Be(forkMessages[1].Id);
    }

    [Test]
    public async Task SearchAsync_RevertUnrevertAndTheNextTurn_ReflectedByTheNextSearch()
    {
        var h = NewHarness();
        var session = await h.Sessions.CreateAsync();
        await h.TurnAsync(session.Id, "first question", "first reply", 10, 5);
        await h.TurnAsync(session.Id, "the axolotl question", "axolotl reply", 10, 5);
        var messages = await h.Sessions.GetMessagesAsync(session.Id);

        await h.Sessions.RevertAsync(session.Id, messages[1].Id);
        (await h.Sessions.SearchAsync(new SessionSearchQuery("axolotl"))).Should().BeEmpty("reverted messages are out of the conversation");

        await h.Sessions.UnrevertAsync(session.Id);
        (await h.Sessions.SearchAsync(new SessionSearchQuery("axolotl"))).Should().HaveCount(2);

        await h.Sessions.RevertAsync(session.Id, messages[1].Id);
        await h.TurnAsync(session.Id, "another question", "another reply", 10, 5);
        (await h.Sessions.SearchAsync(new SessionSearchQuery("axolotl"))).Should().BeEmpty("the turn after a revert deletes the reverted messages");
        (await h.Sessions.SearchAsync(new SessionSearchQuery("another"))).Should().HaveCount(2);
    }

    [Test]
    public async Task SearchAsync_DeleteAndPurge_NoLongerFound()
    {
        var h = NewHarness();
        var deleted = await h.Sessions.CreateAsync();
        await h.TurnAsync(deleted.Id, "tapir one", "ok", 1, 1);
        var purged = await h.Sessions.CreateAsync();
        await h.TurnAsync(purged.Id, "tapir two", "ok", 1, 1);
        h.Time.Advance(TimeSpan.FromDays(10));
        var kept = await h.Sessions.CreateAsync();
        await h.TurnAsync(kept.Id, "tapir three", "ok", 1, 1);

        await h.Sessions.DeleteAsync(deleted.Id);
        (await h.Sessions.PurgeAsync(h.Time.GetUtcNow().AddDays(-1))).Should().Equal(purged.Id);

        (await h.Sessions.SearchAsync(new SessionSearchQuery("tapir"))).Select(static hit => hit.SessionId).Should().Equal(kept.Id);
    }

    [Test]
    public async Task SearchAsync_Import_FindsTheImportedSessionInTheOtherStore()
    {
        var from = NewHarness();
        var session = await from.Sessions.CreateAsync();
        await from.TurnAsync(session.Id, "the okapi is a giraffid", "indeed it is", 10, 5);
        byte[] export = await from.ExportAsync(session.Id);
        var to = NewHarness();

        using var stream = new MemoryStream(export);
        var imported = await to.Sessions.ImportAsync(stream);

        (await to.Sessions.SearchAsync(new SessionSearchQuery("giraffid"))).Should().ContainSingle().Which.SessionId.Should().Be(imported.Id);
    }

    [Test]
    public async Task SearchAsync_MetadataFilter_SearchesOnlyThatOwnersSessions()
    {
        var h = NewHarness();
        var ada = await h.Sessions.CreateAsync(new CreateSessionRequest { Metadata = new Dictionary<string, string> { ["owner"] = "ada" } });
        var grace = await h.Sessions.CreateAsync(new CreateSessionRequest { Metadata = new Dictionary<string, string> { ["owner"] = "grace" } });
        await h.TurnAsync(ada.Id, "secret plans of ada", "noted", 1, 1);
        await h.TurnAsync(grace.Id, "secret plans of grace", "noted", 1, 1);

        var hits = await h.Sessions.SearchAsync(new SessionSearchQuery("secret plans") { Metadata = new Dictionary<string, string> { ["owner"] = "ada" } });

        hits.Select(static hit => hit.SessionId).Should().Equal(ada.Id);
    }

    [Test]
    public async Task SearchAsync_BadArguments_ThrowArgumentExceptionsNamingTheValue()
    {
        var h = NewHarness();

        FluentActions.Invoking(() => new SessionSearchQuery(null!)).Should().Throw<ArgumentNullException>().WithParameterName("Text");
        foreach (string empty in new[] { "", "   ", "?!- ...", "\"\"" })
        {
            FluentActions.Invoking(() => new SessionSearchQuery(empty)).Should().Throw<ArgumentException>().WithParameterName("Text").WithMessage("*no word*");
        }

        FluentActions.Invoking(() => new SessionSearchQuery(new string('a', SessionSearchQuery.MaxTextLength + 1)))
            .Should().Throw<ArgumentException>().WithParameterName("Text").WithMessage("*201 characters*");
        FluentActions.Invoking(() => new SessionSearchQuery("a b c d e f g h i"))
            .Should().Throw<ArgumentException>().WithParameterName("Text").WithMessage("*9 distinct words*");
        new SessionSearchQuery("a A a b c d e f g h").Terms.Should().HaveCount(SessionSearchQuery.MaxTerms, "repeated words count once");
        FluentActions.Invoking(() => new SessionSearchQuery("x") { Limit = 0 }).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Limit");
        FluentActions.Invoking(() => new SessionSearchQuery("x") { Limit = SessionSearchQuery.MaxLimit + 1 }).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Limit");
        FluentActions.Invoking(() => new SessionSearchQuery("x") { Metadata = null! }).Should().Throw<ArgumentNullException>().WithParameterName("Metadata");
        FluentActions.Invoking(() => new SessionSearchQuery("x") { Metadata = new Dictionary<string, string> { [""] = "a" } })
            .Should().Throw<ArgumentException>().WithParameterName("Metadata");
        await FluentActions.Awaiting(() => h.Sessions.SearchAsync(null!)).Should().ThrowAsync<ArgumentNullException>().WithParameterName("query");

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await FluentActions.Awaiting(() => h.Sessions.SearchAsync(new SessionSearchQuery("x"), cancelled.Token)).Should().ThrowAsync<OperationCanceledException>();
    }
}
