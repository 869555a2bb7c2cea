namespace AgentCore.Tests.Storage;

[TestFixture]
public sealed class InMemorySessionStoreTests : SessionStoreContractTests
{
    protected override ISessionStore CreateStore() => new InMemorySessionStore();

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
