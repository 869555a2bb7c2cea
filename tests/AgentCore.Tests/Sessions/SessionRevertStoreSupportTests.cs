using AgentCore.Tests.Engine;
using AgentCore.Tests.Storage;
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
}
