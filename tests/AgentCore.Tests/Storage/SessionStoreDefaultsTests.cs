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

    /// <summary>A store that implements only the required members, keeping every default.</summary>
    private sealed class MinimalStore(ISessionStore inner) : ISessionStore
    {
        public ValueTask<SessionInfo?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) => inner.GetSessionAsync(sessionId, cancellationToken);

        public IAsyncEnumerable<SessionInfo> ListSessionsAsync(CancellationToken cancellationToken = default) => inner.ListSessionsAsync(cancellationToken);

        public ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default) => inner.SaveSessionAsync(session, cancellationToken);

        public ValueTask<bool> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default) => inner.DeleteSessionAsync(sessionId, cancellationToken);

        public ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default) => inner.GetMessagesAsync(sessionId, cancellationToken);

        public ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default) => inner.SaveMessageAsync(message, cancellationToken);
    }
}
