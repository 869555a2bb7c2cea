using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// One persisted message of a session: a user's request, an assistant's reply with its tool calls, or a summary.
/// </summary>
/// <remarks>
/// Messages are ordered by <see cref="Id"/> (time-sortable, <c>msg_</c> prefix). An assistant message is open
/// while its turn runs (<see cref="CompletedAt"/> is null) and is completed exactly once, with an
/// <see cref="Error"/> when the turn did not end normally.
/// </remarks>
public sealed class SessionMessage
{
    /// <summary>The message id, <c>msg_</c> followed by a time-sortable suffix.</summary>
    public required string Id { get; set; }

    /// <summary>The session the message belongs to.</summary>
    public required string SessionId { get; set; }

    /// <summary>Who wrote the message: <see cref="ChatRole.User"/>, <see cref="ChatRole.Assistant"/> or <see cref="ChatRole.System"/>.</summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(StoredRoleJsonConverter))]
    public required ChatRole Role { get; set; }

    /// <summary>The content, in order.</summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(MessagePartListJsonConverter))]
    public List<MessagePart> Parts { get; set; } = [];

    /// <summary>When the message was created (UTC).</summary>
    public required DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the message was completed (UTC); null while an assistant message is still being written.</summary>
    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>For assistant messages: the provider that wrote it.</summary>
    public string? ProviderId { get; set; }

    /// <summary>For assistant messages: the model that wrote it.</summary>
    public string? ModelId { get; set; }

    /// <summary>For assistant messages: the token usage of every step, added up.</summary>
    public TokenUsage Tokens { get; set; }

    /// <summary>For assistant messages: the cost in USD of every step, added up.</summary>
    public decimal Cost { get; set; }

    /// <summary>Whether this assistant message is a summary that replaces the messages before it in prompts.</summary>
    public bool IsSummary { get; set; }

    /// <summary>
    /// For summaries: the id of the last message the summary covers. Prompts built after it carry the summary and
    /// then only the messages with greater ids (so a summary written in the middle of a turn keeps that turn's request).
    /// </summary>
    public string? SummarizedThrough { get; set; }

    /// <summary>Why the turn that wrote this message did not end normally, if it did not.</summary>
    public MessageError? Error { get; set; }

    /// <summary>For assistant messages: why the model stopped (<c>stop</c>, <c>length</c>, <c>tool_calls</c>, ...).</summary>
    public string? FinishReason { get; set; }

    /// <summary>The text of every <see cref="TextPart"/>, joined.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Text => string.Concat(Parts.OfType<TextPart>().Select(static p => p.Text));

    /// <summary>A deep copy (parts included): what the message's JSON form would read back as, made field by field.</summary>
    internal SessionMessage DeepCopy() => MessageCopies.Copy(this);
}
