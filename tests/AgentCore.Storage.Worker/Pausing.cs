using System.Runtime.CompilerServices;
using AgentCore;
using Microsoft.Extensions.AI;

namespace AgentCore.Storage.Worker;

/// <summary>
/// The point of a turn where the "pausing" store and history stop it for good (the test kills the process there):
/// <c>completed</c>, <c>history</c> or <c>totals</c>; null: none.
/// </summary>
internal static class Pausing
{
    private static readonly Task Never = new TaskCompletionSource().Task;

    public static volatile string? Point;

    /// <summary>When <paramref name="point"/> is armed: prints "at <paramref name="point"/>" and never returns.</summary>
    public static async ValueTask StopIfArmedAsync(string point)
    {
        if (Interlocked.CompareExchange(ref Point, null, point) == point)
        {
            Console.WriteLine($"at {point}");
            await Never;
        }
    }
}

/// <summary>A store that stops the turn after it stored the reply complete (whole or as its last part changes), or after it wrote the session's totals.</summary>
internal sealed class PausingStore(ISessionStore inner) : ISessionStore
{
    public ValueTask<SessionInfo?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        inner.GetSessionAsync(sessionId, cancellationToken);

    public IAsyncEnumerable<SessionInfo> ListSessionsAsync(CancellationToken cancellationToken = default) =>
        inner.ListSessionsAsync(cancellationToken);

    public ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default) =>
        inner.SaveSessionAsync(session, cancellationToken);

    public async ValueTask<SessionInfo?> UpdateSessionAsync(string sessionId, Func<SessionInfo, SessionInfo> update, CancellationToken cancellationToken = default)
    {
        bool totalsChanged = false;
        var updated = await inner.UpdateSessionAsync(sessionId, current =>
        {
            var next = update(current);
            totalsChanged = next.Tokens != current.Tokens;
            return next;
        }, cancellationToken);
        if (totalsChanged)
        {
            await Pausing.StopIfArmedAsync("totals");
        }

        return updated;
    }

    public ValueTask<bool> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        inner.DeleteSessionAsync(sessionId, cancellationToken);

    public ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default) =>
        inner.GetMessagesAsync(sessionId, cancellationToken);

    public async ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default)
    {
        await inner.SaveMessageAsync(message, cancellationToken);
        await StopIfCompletedAsync(message);
    }

    public ValueTask SavePartAsync(SessionMessage message, MessagePart part, string? appendedText = null, CancellationToken cancellationToken = default) =>
        inner.SavePartAsync(message, part, appendedText, cancellationToken);

    public async ValueTask SavePartsAsync(SessionMessage message, IReadOnlyList<MessagePartChange> changes, CancellationToken cancellationToken = default)
    {
        await inner.SavePartsAsync(message, changes, cancellationToken);
        await StopIfCompletedAsync(message);
    }

    private static async ValueTask StopIfCompletedAsync(SessionMessage message)
    {
        if (message is { CompletedAt: not null, IsSummary: false } && message.Role == ChatRole.Assistant)
        {
            await Pausing.StopIfArmedAsync("completed");
        }
    }
}

/// <summary>A usage history that stops the turn after it wrote the turn's end entry.</summary>
internal sealed class PausingHistory(ISessionHistory inner) : ISessionHistory
{
    public ValueTask RecordStartAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default) =>
        inner.RecordStartAsync(entry, cancellationToken);

    public async ValueTask RecordEndAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default)
    {
        await inner.RecordEndAsync(entry, cancellationToken);
        await Pausing.StopIfArmedAsync("history");
    }

    public IAsyncEnumerable<SessionHistoryEntry> ReadAsync(CancellationToken cancellationToken = default) => inner.ReadAsync(cancellationToken);
}
