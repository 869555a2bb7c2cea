using System.Collections;
using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// A read-only view of the first <see cref="Count"/> messages of a prompt list that is only ever appended to: what a
/// copy of the list would hold, without copying it. A turn hands one to each model call, so a step costs nothing for the
/// length of the conversation while the messages the call got stay exactly those.
/// </summary>
/// <param name="messages">The prompt; its first <paramref name="count"/> messages must never change.</param>
/// <param name="count">How many of its messages the view holds.</param>
internal sealed class PromptSnapshot(List<ChatMessage> messages, int count) : IList<ChatMessage>, IReadOnlyList<ChatMessage>
{
    public int Count { get; } = count;

    public bool IsReadOnly => true;

    public ChatMessage this[int index]
    {
        get => (uint)index < (uint)Count ? messages[index] : throw new ArgumentOutOfRangeException(nameof(index));
        set => throw ReadOnly();
    }

    public IEnumerator<ChatMessage> GetEnumerator()
    {
        for (int i = 0; i < Count; i++)
        {
            yield return messages[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public int IndexOf(ChatMessage item)
    {
        int index = messages.IndexOf(item, 0, Count);
        return index;
    }

    public bool Contains(ChatMessage item) => IndexOf(item) >= 0;

    public void CopyTo(ChatMessage[] array, int arrayIndex) => messages.CopyTo(0, array, arrayIndex, Count);

    public void Add(ChatMessage item) => throw ReadOnly();

    public void Insert(int index, ChatMessage item) => throw ReadOnly();

    public bool Remove(ChatMessage item) => throw ReadOnly();

    public void RemoveAt(int index) => throw ReadOnly();

    public void Clear() => throw ReadOnly();

    private static NotSupportedException ReadOnly() => new("The prompt a model call gets is read-only: copy it to change it.");
}
