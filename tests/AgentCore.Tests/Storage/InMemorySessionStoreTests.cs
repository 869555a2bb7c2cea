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
}
