using Microsoft.Extensions.AI;

namespace AgentCore.Storage.Worker;

/// <summary>
/// The writes both processes of a cross-process test make. The test project compiles this same file, so the
/// test and the worker write, and the test checks, exactly the same shapes.
/// </summary>
internal static class ConcurrentWrites
{
    /// <summary>How many text appends follow each message (enough to make the journal compact while it is written).</summary>
    public const int AppendsPerMessage = 5;

    /// <summary>The characters each append adds.</summary>
    public const string Appended = "+";

    /// <summary>The text message <paramref name="index"/> of <paramref name="label"/> ends with.</summary>
    public static string ExpectedText(string label, int index) =>
        $"{label}-{index}:" + string.Concat(Enumerable.Repeat(Appended, AppendsPerMessage));

    /// <summary>Saves <paramref name="count"/> messages, each followed by <see cref="AppendsPerMessage"/> text appends.</summary>
    public static async Task WriteMessagesAsync(ISessionStore store, string sessionId, int count, string label)
    {
        for (int i = 0; i < count; i++)
        {
            var part = new TextPart { Id = AgentCoreIds.NewPartId(), Text = $"{label}-{i}:" };
            var message = new SessionMessage
            {
                Id = AgentCoreIds.NewMessageId(),
                SessionId = sessionId,
                Role = ChatRole.Assistant,
                CreatedAt = DateTimeOffset.UtcNow,
                ModelId = label,
                Parts = [part],
            };
            await store.SaveMessageAsync(message);
            for (int a = 0; a < AppendsPerMessage; a++)
            {
                part.Text += Appended;
                await store.SavePartAsync(message, part, Appended);
            }
        }
    }

    /// <summary>The project written in history entry <paramref name="index"/>: long, so a torn append would show.</summary>
    public static string ExpectedProject(string label, int index) => $"{label}-{index}-" + new string((char)('a' + index % 26), 6000);

    /// <summary>Records <paramref name="count"/> start entries, each about 6 KB.</summary>
    public static async Task WriteHistoryAsync(ISessionHistory history, string sessionId, int count, string label)
    {
        for (int i = 0; i < count; i++)
        {
            await history.RecordStartAsync(new SessionHistoryEntry
            {
                AgentId = label,
                SessionId = sessionId,
                Timestamp = i,
                Project = ExpectedProject(label, i),
                Model = "model",
                Provider = "provider",
            });
        }
    }
}
