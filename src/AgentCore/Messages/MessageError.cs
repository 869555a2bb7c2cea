namespace AgentCore;

/// <summary>Why an assistant message did not complete normally.</summary>
/// <param name="Kind">The kind of error.</param>
/// <param name="Message">A description fit for a log or a person (never contains secrets).</param>
/// <param name="StatusCode">The HTTP status code, for <see cref="MessageErrorKind.Api"/> errors that have one.</param>
public sealed record MessageError(MessageErrorKind Kind, string Message, int? StatusCode = null);
