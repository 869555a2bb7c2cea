namespace AgentCore;

/// <summary>
/// One change to a part of a streaming message, as passed to <see cref="ISessionStore.SavePartsAsync"/>: the part that
/// is new or changed, and, when only text was added to an already stored text or reasoning part, exactly that text.
/// </summary>
/// <param name="Part">The part that is new or changed; one of the message's parts.</param>
/// <param name="AppendedText">
/// The text appended to <paramref name="Part"/> since it was last saved, when <paramref name="Part"/> is a
/// <see cref="TextPart"/> or <see cref="ReasoningPart"/> already stored and nothing else of it changed; otherwise null.
/// </param>
public readonly record struct MessagePartChange(MessagePart Part, string? AppendedText = null);
