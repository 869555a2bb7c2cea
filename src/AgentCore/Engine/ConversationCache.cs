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
/// kept; the one unused longest makes room.
/// </remarks>
internal sealed class ConversationCache
{
    /// <summary>How many sessions' conversations are kept at most.</summary>
    public const int Capacity = 256;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
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
            if (_entries.Count >= Capacity && !_entries.ContainsKey(sessionId))
            {
                string? oldest = null;
                long oldestUse = long.MaxValue;
                foreach (var (id, entry) in _entries)
                {
                    if (entry.LastUse < oldestUse)
                    {
                        (oldest, oldestUse) = (id, entry.LastUse);
                    }
                }

                _entries.Remove(oldest!);
            }

            _entries[sessionId] = new Entry(stamp, conversation, ++_clock);
        }
    }

    private sealed record Entry(string Stamp, KeptConversation Conversation, long LastUse);
}

/// <summary>A session's conversation as a turn left it: the messages as stored, and the prompt they convert to.</summary>
/// <param name="Messages">The session's messages in ascending id order, every one completed, none waiting for approval but in the last.</param>
/// <param name="Prompt">Their chat messages (<see cref="PromptBuilder.AppendConversation"/>), without the system prompt; null when not kept.</param>
internal sealed record KeptConversation(IReadOnlyList<SessionMessage> Messages, IReadOnlyList<ChatMessage>? Prompt);
