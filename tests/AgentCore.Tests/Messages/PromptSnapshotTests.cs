using Microsoft.Extensions.AI;

namespace AgentCore.Tests.Messages;

public sealed class PromptSnapshotTests
{
    [Test]
    public void PromptSnapshot_ListAppendedAfterwards_HoldsTheMessagesOfItsTime()
    {
        var list = new List<ChatMessage> { new(ChatRole.System, "s"), new(ChatRole.User, "u") };
        var snapshot = new PromptSnapshot(list, list.Count);

        list.Add(new ChatMessage(ChatRole.Assistant, "later"));

        snapshot.Should().HaveCount(2).And.Equal(list[0], list[1]);
        snapshot.Contains(list[2]).Should().BeFalse();
        snapshot.IndexOf(list[1]).Should().Be(1);
        var copy = new ChatMessage[2];
        snapshot.CopyTo(copy, 0);
        copy.Should().Equal(list[0], list[1]);
        FluentActions.Invoking(() => snapshot[2]).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public void PromptSnapshot_ChangeAttempted_ThrowsNotSupported()
    {
        var list = new List<ChatMessage> { new(ChatRole.User, "u") };
        IList<ChatMessage> snapshot = new PromptSnapshot(list, 1);

        snapshot.IsReadOnly.Should().BeTrue();
        FluentActions.Invoking(() => snapshot.Add(new ChatMessage(ChatRole.User, "x"))).Should().Throw<NotSupportedException>();
        FluentActions.Invoking(() => snapshot.RemoveAt(0)).Should().Throw<NotSupportedException>();
        FluentActions.Invoking(() => snapshot[0] = new ChatMessage(ChatRole.User, "y")).Should().Throw<NotSupportedException>();
        list.Should().ContainSingle();
    }
}
