namespace AgentCore;

/// <summary>What to create a session with. Every member is optional.</summary>
public sealed record CreateSessionRequest
{
    /// <summary>A caller-chosen id (validated: <c>ses_</c> prefix, letters, digits, <c>_</c> and <c>-</c>); null for a new one.</summary>
    public string? Id { get; init; }

    /// <summary>The session this one continues or forks, if any.</summary>
    public string? ParentId { get; init; }

    /// <summary>A title; null for the default <c>New Session - &lt;ISO 8601 UTC time&gt;</c>.</summary>
    public string? Title { get; init; }

    /// <summary>Metadata to store with the session.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}
