
namespace AgentCore;

/// <summary>
/// A persisted agent session: its identity, title, times and the running totals of token usage and cost.
/// </summary>
/// <remarks>
/// Immutable: change a session through <see cref="ISessionService.UpdateAsync"/>, which receives a copy
/// to modify with a <c>with</c> expression. The totals are kept on the session so that a listing shows
/// spend without reading any message.
/// </remarks>
public sealed record SessionInfo
{
    /// <summary>The session id, <c>ses_</c> followed by a time-sortable suffix.</summary>
    public required string Id { get; init; }

    /// <summary>The id of the session this one was forked from, if any.</summary>
    public string? ParentId { get; init; }

    /// <summary>The title shown to people. New sessions get <c>New Session - &lt;ISO 8601 UTC time&gt;</c>.</summary>
    public required string Title { get; init; }

    /// <summary>When the session was created (UTC).</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the session was last changed (UTC).</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The token usage of every assistant message of the session, added up.</summary>
    public TokenUsage Tokens { get; init; }

    /// <summary>The cost in USD of every assistant message of the session, added up.</summary>
    public decimal Cost { get; init; }

    /// <summary>
    /// Which usage <see cref="Tokens"/> and <see cref="Cost"/> include, written with them so that the next turn after a
    /// crash adds exactly what they lack. Maintained by AgentCore: stores persist it with the session, apps leave it alone.
    /// Null (a session written by an earlier version, or by a store that does not keep it) makes the next turn recount
    /// the totals from the messages.
    /// </summary>
    public SessionTotalsCheckpoint? TotalsCheckpoint { get; init; }

    /// <summary>Free-form string metadata (owner, tags, ...). Never null.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = EmptyMetadata;

    /// <summary>
    /// When the session was reverted with <see cref="ISessionService.RevertAsync"/>: the id of the last message still in
    /// the conversation. The messages after it are kept (<see cref="ISessionService.UnrevertAsync"/> restores them) but are
    /// left out of <see cref="ISessionService.GetMessagesAsync"/>, prompts, forks and totals; the next turn or summary
    /// deletes them and clears this. Null when nothing is reverted.
    /// </summary>
    public string? RevertedAfter { get; init; }

    internal static readonly IReadOnlyDictionary<string, string> EmptyMetadata =
        new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The prefix of the title a new session gets before a title is generated or set.</summary>
    public const string DefaultTitlePrefix = "New Session - ";

    /// <summary>Whether <see cref="Title"/> is still the default title given at creation.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool HasDefaultTitle => Title.StartsWith(DefaultTitlePrefix, StringComparison.Ordinal);
}
