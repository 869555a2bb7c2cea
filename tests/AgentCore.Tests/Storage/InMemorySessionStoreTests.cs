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

    /// <summary>
    /// A part save updates the stored message in place (its part list and fields): a message read before it keeps what it
    /// read, the caller's later changes reach nothing stored, and new parts are stored after the stored ones.
    /// </summary>
    [Test]
    public async Task SavePartsAsync_StoredPartsArePrefix_EarlierReadAndCallerChangesDoNotReachStore()
    {
        var store = new InMemorySessionStore();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        var tool = new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "call_1", ToolName = "t", State = ToolState.Pending };
        message.Parts.Add(tool);
        await store.SaveMessageAsync(message);
        var before = (await store.GetMessagesAsync(sessionId)).Single();

        tool.State = ToolState.Completed;
        tool.Output = "done";
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "answer" };
        message.Parts.Add(text);
        message.FinishReason = "stop";
        await store.SavePartsAsync(message, [new MessagePartChange(tool), new MessagePartChange(text)]);
        tool.Output = "changed after the save";
        text.Text = "changed after the save";

        before.Parts.Should().HaveCount(message.Parts.Count - 1);
        before.Parts.OfType<ToolPart>().Single().State.Should().Be(ToolState.Pending);
        before.FinishReason.Should().BeNull();
        var after = (await store.GetMessagesAsync(sessionId)).Single();
        after.Parts.Select(p => p.Id).Should().Equal(message.Parts.Select(p => p.Id));
        after.Parts[^2].Should().BeOfType<ToolPart>().Which.Output.Should().Be("done");
        after.Parts[^1].Should().BeOfType<TextPart>().Which.Text.Should().Be("answer");
        after.FinishReason.Should().Be("stop");
    }

    /// <summary>A part save of a stored message changes the session's messages stamp (the next turn must not reuse a kept conversation).</summary>
    [Test]
    public async Task SavePartsAsync_StoredMessage_MessagesStampChanges()
    {
        var store = new InMemorySessionStore();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        await store.SaveMessageAsync(message);
        string? before = await store.GetMessagesStampAsync(sessionId);

        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "answer" };
        message.Parts.Add(text);
        await store.SavePartsAsync(message, [new MessagePartChange(text)]);

        before.Should().NotBeNull();
        (await store.GetMessagesStampAsync(sessionId)).Should().NotBe(before);
    }

    /// <summary>When the stored parts are not the first of the message's (a caller's own order), the message's order is stored.</summary>
    [Test]
    public async Task SavePartsAsync_StoredPartsNotPrefix_StoresMessagePartsInItsOrder()
    {
        var store = new InMemorySessionStore();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = AssistantMessage(sessionId);
        var first = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "first" };
        var second = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "second" };
        message.Parts.Clear();
        message.Parts.AddRange([first, second]);
        await store.SaveMessageAsync(message);

        var third = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "third" };
        message.Parts.RemoveAt(0);
        message.Parts.Add(third);
        await store.SavePartsAsync(message, [new MessagePartChange(third)]);

        var stored = (await store.GetMessagesAsync(sessionId)).Single();
        stored.Parts.Select(p => p.Id).Should().Equal(second.Id, third.Id);
    }
}
