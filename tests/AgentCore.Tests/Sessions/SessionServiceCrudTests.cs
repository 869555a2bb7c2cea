using AgentCore.Tests.Shared;
using AgentCore.Tests.Engine;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Tests.Sessions;

public sealed class SessionServiceCrudTests
{
    [Test]
    public async Task CreateAsync_NoRequest_NewIdAndDefaultTitleFromTheClock()
    {
        await using var h = new EngineHarness();

        var session = await h.Sessions.CreateAsync();

        Identifier.IsValid(session.Id, IdKind.Session).Should().BeTrue();
        session.Title.Should().Be("New Session - 2026-01-01T12:00:00.000Z");
        session.HasDefaultTitle.Should().BeTrue();
        session.CreatedAt.Should().Be(h.Time.GetUtcNow());
        session.UpdatedAt.Should().Be(session.CreatedAt);
        session.ParentId.Should().BeNull();
        session.Metadata.Should().BeEmpty();
        session.Tokens.Should().Be(TokenUsage.Zero);
        session.Cost.Should().Be(0m);
        (await h.Sessions.GetAsync(session.Id)).Should().BeEquivalentTo(session);
    }

    [Test]
    public async Task CreateAsync_ClockInAnotherOffset_TitleIsUtc()
    {
        var local = new DateTimeOffset(2026, 3, 4, 23, 30, 0, TimeSpan.FromHours(-5));
        await using var h = new EngineHarness(time: new ObservedTimeProvider(local));

        var session = await h.Sessions.CreateAsync();

        session.Title.Should().Be("New Session - 2026-03-05T04:30:00.000Z");
    }

    [Test]
    public async Task CreateAsync_CallerChosenIdTitleAndMetadata_Stored()
    {
        await using var h = new EngineHarness();
        var metadata = new Dictionary<string, string> { ["owner"] = "ada", ["tags"] = "demo" };

        var session = await h.Sessions.CreateAsync(new CreateSessionRequest { Id = "ses_mine-1", Title = "Planning", Metadata = metadata });
        metadata["owner"] = "changed after the call";

        session.Id.Should().Be("ses_mine-1");
        var stored = await h.Sessions.GetAsync("ses_mine-1");
        stored.Title.Should().Be("Planning");
        stored.HasDefaultTitle.Should().BeFalse();
        stored.Metadata.Should().Equal(new Dictionary<string, string> { ["owner"] = "ada", ["tags"] = "demo" });
    }

    [TestCase("../../etc/passwd")]
    [TestCase("ses_../x")]
    [TestCase("msg_abc")]
    [TestCase("ses_")]
    [TestCase("ses_a b")]
    public async Task CreateAsync_InvalidCallerId_ThrowsArgumentExceptionNamingItAndStoresNothing(string id)
    {
        await using var h = new EngineHarness();

        var act = () => h.Sessions.CreateAsync(new CreateSessionRequest { Id = id });

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain(id);
        (await ListAsync(h)).Should().BeEmpty();
        Directory.EnumerateFileSystemEntries(h.DataDirectory, "*", SearchOption.AllDirectories)
            .Should().NotContain(p => p.Contains("passwd", StringComparison.Ordinal));
    }

    [Test]
    public async Task CreateAsync_DuplicateId_ThrowsAndKeepsTheFirst()
    {
        await using var h = new EngineHarness();
        await h.Sessions.CreateAsync(new CreateSessionRequest { Id = "ses_taken", Title = "first" });

        var act = () => h.Sessions.CreateAsync(new CreateSessionRequest { Id = "ses_taken", Title = "second" });

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("ses_taken");
        (await h.Sessions.GetAsync("ses_taken")).Title.Should().Be("first");
    }

    [Test]
    public async Task CreateAsync_ExistingParent_StoresParentId()
    {
        await using var h = new EngineHarness();
        var parent = await h.Sessions.CreateAsync();

        var child = await h.Sessions.CreateAsync(new CreateSessionRequest { ParentId = parent.Id });

        child.ParentId.Should().Be(parent.Id);
        (await h.Sessions.GetAsync(child.Id)).ParentId.Should().Be(parent.Id);
    }

    [Test]
    public async Task CreateAsync_MissingParent_ThrowsSessionNotFound()
    {
        await using var h = new EngineHarness();

        var act = () => h.Sessions.CreateAsync(new CreateSessionRequest { ParentId = "ses_nobody" });

        (await act.Should().ThrowAsync<SessionNotFoundException>()).Which.SessionId.Should().Be("ses_nobody");
        (await ListAsync(h)).Should().BeEmpty();
    }

    [Test]
    public async Task CreateAsync_InvalidParentId_ThrowsArgumentException()
    {
        await using var h = new EngineHarness();

        var act = () => h.Sessions.CreateAsync(new CreateSessionRequest { ParentId = "../x" });

        await act.Should().ThrowAsync<ArgumentException>();
    }

    [Test]
    public async Task GetAsync_UnknownOrInvalid_ThrowsNotFoundOrArgument()
    {
        await using var h = new EngineHarness();

        await FluentActions.Awaiting(() => h.Sessions.GetAsync("ses_unknown")).Should().ThrowAsync<SessionNotFoundException>();
        await FluentActions.Awaiting(() => h.Sessions.GetMessagesAsync("ses_unknown")).Should().ThrowAsync<SessionNotFoundException>();
        await FluentActions.Awaiting(() => h.Sessions.GetAsync("ses_/..")).Should().ThrowAsync<ArgumentException>();
    }

    [Test]
    public async Task ListAsync_SeveralSessions_NewestFirst()
    {
        await using var h = new EngineHarness();
        var first = await h.Sessions.CreateAsync();
        h.Time.Advance(TimeSpan.FromMinutes(1));
        var second = await h.Sessions.CreateAsync();
        h.Time.Advance(TimeSpan.FromMinutes(1));
        var third = await h.Sessions.CreateAsync();

        (await ListAsync(h)).Select(s => s.Id).Should().Equal(third.Id, second.Id, first.Id);
    }

    [Test]
    public async Task UpdateAsync_ClockMoved_ChangesAndBumpsUpdatedAt()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Time.Advance(TimeSpan.FromMinutes(5));

        var updated = await h.Sessions.UpdateAsync(session.Id, s => s with { Title = "Renamed", Metadata = new Dictionary<string, string> { ["k"] = "v" } });

        updated.Title.Should().Be("Renamed");
        updated.UpdatedAt.Should().Be(session.CreatedAt.AddMinutes(5));
        updated.CreatedAt.Should().Be(session.CreatedAt);
        var stored = await h.Sessions.GetAsync(session.Id);
        stored.Title.Should().Be("Renamed");
        stored.Metadata.Should().ContainKey("k");
        stored.UpdatedAt.Should().Be(updated.UpdatedAt);
    }

    [Test]
    public async Task UpdateAsync_ClockStill_UpdatedAtStillMovesForward()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();

        var updated = await h.Sessions.UpdateAsync(session.Id, s => s with { Title = "Renamed" });

        updated.UpdatedAt.Should().BeAfter(session.UpdatedAt);
    }

    [Test]
    public async Task UpdateAsync_ChangesTheId_ThrowsAndStoresNothing()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();

        var act = () => h.Sessions.UpdateAsync(session.Id, s => s with { Id = "ses_other", Title = "x" });

        await act.Should().ThrowAsync<InvalidOperationException>();
        (await h.Sessions.GetAsync(session.Id)).Title.Should().Be(session.Title);
        (await ListAsync(h)).Should().ContainSingle();
    }

    [Test]
    public async Task UpdateAsync_UnknownSession_ThrowsSessionNotFound()
    {
        await using var h = new EngineHarness();

        var act = () => h.Sessions.UpdateAsync("ses_unknown", s => s with { Title = "x" });

        await act.Should().ThrowAsync<SessionNotFoundException>();
    }

    [Test]
    public async Task DeleteAsync_SessionWithMessages_RemovesSessionAndMessages()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var keep = await h.Sessions.CreateAsync();
        h.Client.EnqueueText("one").EnqueueText("two");
        await h.ChatAsync(session.Id, "hello");
        await h.ChatAsync(keep.Id, "hello");

        bool deleted = await h.Sessions.DeleteAsync(session.Id);

        deleted.Should().BeTrue();
        await FluentActions.Awaiting(() => h.Sessions.GetAsync(session.Id)).Should().ThrowAsync<SessionNotFoundException>();
        (await h.Store.GetMessagesAsync(session.Id)).Should().BeEmpty();
        (await h.Sessions.GetMessagesAsync(keep.Id)).Should().HaveCount(2);
        (await ListAsync(h)).Select(s => s.Id).Should().Equal(keep.Id);
        (await h.Sessions.DeleteAsync(session.Id)).Should().BeFalse();
    }

    [Test]
    public async Task DeleteAsync_SessionThatNeverChatted_Deletes()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();

        (await h.Sessions.DeleteAsync(session.Id)).Should().BeTrue();

        await FluentActions.Awaiting(() => h.Sessions.GetAsync(session.Id)).Should().ThrowAsync<SessionNotFoundException>();
    }

    [Test]
    public async Task CrudOperations_WithSubscribers_RaiseCreatedUpdatedDeleted()
    {
        await using var h = new EngineHarness();
        using var stop = new CancellationTokenSource();
        var all = h.Events.SubscribeAsync(cancellationToken: stop.Token).GetAsyncEnumerator();

        var session = await h.Sessions.CreateAsync(new CreateSessionRequest { Title = "t" });
        var one = h.Events.SubscribeAsync(session.Id, stop.Token).GetAsyncEnumerator();
        var other = await h.Sessions.CreateAsync();
        await h.Sessions.UpdateAsync(session.Id, s => s with { Title = "renamed" });
        await h.Sessions.DeleteAsync(session.Id);

        var seen = new List<SessionEvent>();
        for (int i = 0; i < 4; i++)
        {
            (await all.MoveNextAsync()).Should().BeTrue();
            seen.Add(all.Current);
        }

        seen[0].Should().BeOfType<SessionCreated>().Which.Session.Should().BeEquivalentTo(session);
        seen[1].Should().BeOfType<SessionCreated>().Which.SessionId.Should().Be(other.Id);
        seen[2].Should().BeOfType<SessionUpdated>().Which.Session.Title.Should().Be("renamed");
        seen[3].Should().BeOfType<SessionDeleted>().Which.SessionId.Should().Be(session.Id);

        (await one.MoveNextAsync()).Should().BeTrue();
        one.Current.Should().BeOfType<SessionUpdated>().Which.SessionId.Should().Be(session.Id);
        (await one.MoveNextAsync()).Should().BeTrue();
        one.Current.Should().BeOfType<SessionDeleted>();

        await stop.CancelAsync();
        await FluentActions.Awaiting(async () => await all.MoveNextAsync()).Should().ThrowAsync<OperationCanceledException>();
        await all.DisposeAsync();
        await one.DisposeAsync();
    }

    private static async Task<List<SessionInfo>> ListAsync(EngineHarness h)
    {
        var list = new List<SessionInfo>();
        await foreach (var s in h.Sessions.ListAsync())
        {
            list.Add(s);
        }

        return list;
    }
}
