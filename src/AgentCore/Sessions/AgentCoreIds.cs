using System.Runtime.CompilerServices;

namespace AgentCore;

/// <summary>
/// Creates and checks AgentCore ids: <c>ses_</c>, <c>msg_</c> and <c>prt_</c> followed by letters, digits,
/// <c>_</c> or <c>-</c>, at most 64 characters. New ids sort in creation order. Store authors call the
/// <c>ThrowIfInvalid…</c> methods before an id reaches storage.
/// </summary>
public static class AgentCoreIds
{
    /// <summary>A new session id.</summary>
    /// <returns>The id.</returns>
    public static string NewSessionId() => Identifier.Create(IdKind.Session);

    /// <summary>A new message id, greater than every message id this process created before.</summary>
    /// <returns>The id.</returns>
    public static string NewMessageId() => Identifier.Create(IdKind.Message);

    /// <summary>A new part id, greater than every part id this process created before.</summary>
    /// <returns>The id.</returns>
    public static string NewPartId() => Identifier.Create(IdKind.Part);

    /// <summary>Whether <paramref name="id"/> is a well-formed session id.</summary>
    /// <param name="id">The id to check; may be null.</param>
    /// <returns>True when it is well formed.</returns>
    public static bool IsValidSessionId(string? id) => Identifier.IsValid(id, IdKind.Session);

    /// <summary>Whether <paramref name="id"/> is a well-formed message id.</summary>
    /// <param name="id">The id to check; may be null.</param>
    /// <returns>True when it is well formed.</returns>
    public static bool IsValidMessageId(string? id) => Identifier.IsValid(id, IdKind.Message);

    /// <summary>Whether <paramref name="id"/> is a well-formed part id.</summary>
    /// <param name="id">The id to check; may be null.</param>
    /// <returns>True when it is well formed.</returns>
    public static bool IsValidPartId(string? id) => Identifier.IsValid(id, IdKind.Part);

    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="id"/> unless it is a well-formed session id.</summary>
    /// <param name="id">The id to check.</param>
    /// <param name="paramName">The parameter named in the exception; the compiler fills it in.</param>
    public static void ThrowIfInvalidSessionId(string? id, [CallerArgumentExpression(nameof(id))] string? paramName = null) =>
        Identifier.Validate(id, IdKind.Session, paramName ?? nameof(id));

    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="id"/> unless it is a well-formed message id.</summary>
    /// <param name="id">The id to check.</param>
    /// <param name="paramName">The parameter named in the exception; the compiler fills it in.</param>
    public static void ThrowIfInvalidMessageId(string? id, [CallerArgumentExpression(nameof(id))] string? paramName = null) =>
        Identifier.Validate(id, IdKind.Message, paramName ?? nameof(id));

    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="id"/> unless it is a well-formed part id.</summary>
    /// <param name="id">The id to check.</param>
    /// <param name="paramName">The parameter named in the exception; the compiler fills it in.</param>
    public static void ThrowIfInvalidPartId(string? id, [CallerArgumentExpression(nameof(id))] string? paramName = null) =>
        Identifier.Validate(id, IdKind.Part, paramName ?? nameof(id));
}
