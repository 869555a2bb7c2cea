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

    /// <summary>
    /// A batch copies only the parts it names: a part left out is kept as stored (the engine names every part it
    /// changed), while the message's own fields and the named parts are stored as they are now.
    /// </summary>
    [Test]
    public async Task SavePartsAsync_PartNotNamed_KeptAsStoredNamedPartsAndFieldsUpdated()
    {
        var store = new InMemorySessionStore();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "first" };
        var tool = new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "call_1", ToolName = "t", State = ToolState.Pending };
        message.Parts.AddRange([text, tool]);
        await store.SaveMessageAsync(message);

        text.Text = "changed but not named";
        tool.State = ToolState.Running;
        message.FinishReason = "tool_calls";
        await store.SavePartsAsync(message, [new MessagePartChange(tool)]);

        var stored = (await store.GetMessagesAsync(sessionId)).Single();
        stored.Parts.OfType<TextPart>().Single().Text.Should().Be("first");
        stored.Parts.OfType<ToolPart>().Single().State.Should().Be(ToolState.Running);
        stored.FinishReason.Should().Be("tool_calls");
    }
}
