using static AgentCore.Tests.Storage.StoreTestData;

namespace AgentCore.Tests.Storage;

/// <summary>The default implementations of <see cref="ISessionStore"/>, over a store that keeps them.</summary>
[TestFixture]
public sealed class SessionStoreDefaultsTests
{
    [Test]
    public async Task UpdateSessionAsync_DefaultImplementation_RefusesAnIdChangeOrNullAndSavesNothing()
    {
        var inner = new InMemorySessionStore();
        ISessionStore store = new MinimalStore(inner);
        var session = Session(T0);
        await store.SaveSessionAsync(session);
        string otherId = AgentCoreIds.NewSessionId();

        await FluentActions.Awaiting(() => store.UpdateSessionAsync(session.Id, s => s with { Id = otherId }).AsTask())
            .Should().ThrowAsync<InvalidOperationException>().WithMessage($"*{otherId}*");
        await FluentActions.Awaiting(() => store.UpdateSessionAsync(session.Id, static _ => null!).AsTask())
            .Should().ThrowAsync<ArgumentNullException>();
        var renamed = await store.UpdateSessionAsync(session.Id, static s => s with { Title = "Renamed" });

        renamed!.Title.Should().Be("Renamed");
        (await inner.GetSessionAsync(otherId)).Should().BeNull();
        (await inner.GetSessionAsync(session.Id)).Should().BeEquivalentTo(renamed);
    }
}
