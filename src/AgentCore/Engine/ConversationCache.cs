using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// The conversations of the sessions whose turns ran here recently, so the next turn of such a session starts from them
/// instead of reading (and converting) every message again. An entry is only used when the store's stamp of the
/// session's messages (<see cref="ISessionStore.GetMessagesStampAsync"/>) still equals the one read when the entry was
/// kept: any write since, by this process or another, means the messages are read again.
/// </summary>
/// <remarks>
/// A turn takes its session's entry out (so nothing else uses a conversation the turn is changing) and puts the new one
/// back after its last message write, both with the session's lock held. At most <see cref="Capacity"/> sessions are
/// kept; the one kept longest ago makes room.
/// </remarks>
internal sealed class ConversationCache
{
    /// <summary>How many sessions' conversations are kept at most.</summary>
    public const int Capacity = 128;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    // The order entries were kept in, oldest first; an item whose entry was taken or kept again since is skipped.
    private readonly Queue<(string SessionId, long Kept)> _order = new();
    private long _clock;

    /// <summary>Takes the session's conversation out when it was kept with <paramref name="stamp"/>; drops it otherwise.</summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="stamp">The store's stamp of the session's messages now.</param>
    /// <returns>The conversation, or null when none is kept or the messages changed since.</returns>
    public KeptConversation? Take(string sessionId, string stamp)
    {
        lock (_entries)
        {
            if (!_entries.Remove(sessionId, out var entry))
            {
                return null;
            }

            return string.Equals(entry.Stamp, stamp, StringComparison.Ordinal) ? entry.Conversation : null;
        }
    }

    /// <summary>Forgets the session's conversation, if one is kept.</summary>
    /// <param name="sessionId">The session.</param>
    public void Forget(string sessionId)
    {
        lock (_entries)
        {
            _entries.Remove(sessionId);
        }
    }

    /// <summary>Keeps the session's conversation as it is stored under <paramref name="stamp"/>.</summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="stamp">The store's stamp of the session's messages, read after the last write of them.</param>
    /// <param name="conversation">The messages, as the store holds them, and their prompt.</param>
    public void Keep(string sessionId, string stamp, KeptConversation conversation)
    {
        lock (_entries)
        {
            long kept = ++_clock;
            _entries[sessionId] = new Entry(stamp, conversation, kept);
            _order.Enqueue((sessionId, kept));
            // Every entry has its item in the queue, so this ends; the queue holds at most twice the capacity.
            while (_entries.Count > Capacity || _order.Count > 2 * Capacity)
            {
                var (oldest, when) = _order.Dequeue();
                if (_entries.TryGetValue(oldest, out var entry) && entry.Kept == when)
                {
                    _entries.Remove(oldest);
                }
            }
        }
    }

    private sealed record Entry(string Stamp, KeptConversation Conversation, long Kept);
}

/// <summary>A session's conversation as a turn left it: the messages as stored, and the turn's last prompt.</summary>
/// <param name="Messages">The session's messages in ascending id order, every one completed, none waiting for approval but in the last (the turn's reply).</param>
/// <param name="Prompt">The turn's last prompt: its system message first, then the conversation up to <paramref name="PromptedParts"/> parts of the reply.</param>
/// <param name="PromptedParts">How many parts of the last message (the reply) <paramref name="Prompt"/> covers.</param>
internal sealed record KeptConversation(IReadOnlyList<SessionMessage> Messages, List<ChatMessage> Prompt, int PromptedParts);
