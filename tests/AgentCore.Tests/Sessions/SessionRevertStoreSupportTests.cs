using AgentCore.Tests.Engine;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Tests.Sessions;

/// <summary>Revert over a store that keeps <see cref="ISessionStore.DeleteMessagesAsync"/>'s default implementation.</summary>
public sealed class SessionRevertStoreSupportTests
{
    [Test]
    public async Task RevertAsync_StoreWithoutDeleteMessages_ThrowsNotSupportedAndChangesNothing()
    {
        var inner = new InMemorySessionStore();
        await using var h = new EngineHarness(build: b => b.UseSessionStore(_ => new MinimalStore(inner)));
        var session = await h.Sessions.CreateAsync();
        h.Client.EnqueueText("answer", 10, 1);
        await h.ChatAsync(session.Id, "hello");
        var first = (await h.Sessions.GetMessagesAsync(session.Id))[0];

        var act = () => h.Sessions.RevertAsync(session.Id, first.Id);

        (await act.Should().ThrowAsync<NotSupportedException>()).Which.Message.Should().Contain(nameof(MinimalStore));
        (await h.Sessions.GetAsync(session.Id)).RevertedAfter.Should().BeNull();
        (await h.Sessions.GetMessagesAsync(session.Id)).Should().HaveCount(2);
    }

    /// <summary>A third-party store written before DeleteMessagesAsync existed: it keeps the interface's default.</summary>
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
