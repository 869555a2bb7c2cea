using static AgentCore.Tests.Storage.StoreTestData;

namespace AgentCore.Tests.Storage;

[TestFixture]
public sealed class InMemorySessionStoreTests
{
    [Test]
    public async Task GetSessionAsync_AnotherInstance_SeesNothing()
    {
        var first = new InMemorySessionStore();
        var session = Session(T0);
        await first.SaveSessionAsync(session);

        (await new InMemorySessionStore().GetSessionAsync(session.Id)).Should().BeNull();
        (await first.GetSessionAsync(session.Id)).Should().NotBeNull();
    }

    [Test]
    public async Task SaveMessageAsync_NullPartOrNoRole_ThrowsArgumentExceptionAndStoresNothing()
    {
        var store = new InMemorySessionStore();
        string sessionId = AgentCoreIds.NewSessionId();
        var nullPart = UserMessage(sessionId, "x");
        nullPart.Parts.Add(null!);
        var noRole = UserMessage(sessionId, "y");
        noRole.Role = default;

        (await FluentActions.Awaiting(() => store.SaveMessageAsync(nullPart).AsTask()).Should().ThrowAsync<ArgumentException>())
            .Which.Message.Should().Contain(nullPart.Id).And.Contain("index 1");
        (await FluentActions.Awaiting(() => store.SaveMessageAsync(noRole).AsTask()).Should().ThrowAsync<ArgumentException>())
            .Which.Message.Should().Contain(noRole.Id).And.Contain("no role");

        (await store.GetMessagesAsync(sessionId)).Should().BeEmpty();
    }

    /// <summary>A session the store could not read back (a malformed parent id) is refused when saved or updated, naming the id.</summary>
    [Test]
    public async Task SaveAndUpdateSessionAsync_MalformedParentId_ThrowArgumentExceptionNamingIt()
    {
        var store = new InMemorySessionStore();
        var session = Session(T0);
        await store.SaveSessionAsync(session);

        await FluentActions.Awaiting(() => store.SaveSessionAsync(Session(T0) with { ParentId = "../ses_x" }).AsTask())
            .Should().ThrowAsync<ArgumentException>().WithMessage("*../ses_x*");
        await FluentActions.Awaiting(() => store.UpdateSessionAsync(session.Id, static s => s with { ParentId = "../ses_x" }).AsTask())
            .Should().ThrowAsync<ArgumentException>().WithMessage("*../ses_x*");

        (await store.GetSessionAsync(session.Id)).Should().BeEquivalentTo(session);
        (await store.ListSessionsAsync().CountAsync()).Should().Be(1);
    }
}
