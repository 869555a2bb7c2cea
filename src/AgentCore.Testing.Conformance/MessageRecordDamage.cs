namespace AgentCore.Testing;

/// <summary>
/// A way a stored message record can be bad, for <see cref="SessionStoreConformanceTests.DamageMessageAsync"/>.
/// </summary>
/// <remarks>
/// The damages up to <see cref="Truncated"/> spoil the message's own fields: the store must skip the message with a
/// warning and read the session's other messages. The damages from <see cref="NullPart"/> on spoil one part: the store
/// must skip that part with a warning and read the message with its other parts.
/// </remarks>
public enum MessageRecordDamage
{
    /// <summary>The message id is missing (or empty, for a store that keeps it in a column).</summary>
    MissingId,
    /// <summary>The message id is a path-traversal string, not a message id.</summary>
    MalformedId,
    /// <summary>The role is missing.</summary>
    MissingRole,
    /// <summary>The role is an empty string.</summary>
    BlankRole,
    /// <summary>The role is white space.</summary>
    WhiteSpaceRole,
    /// <summary>The role is JSON null.</summary>
    NullRole,
    /// <summary>The role is a number.</summary>
    RoleOfWrongType,
    /// <summary>The creation time is missing.</summary>
    MissingCreatedAt,
    /// <summary>The creation time is a string that is not a time.</summary>
    BadCreatedAt,
    /// <summary>The creation time is of the wrong type (a boolean in JSON, a string in an integer column).</summary>
    CreatedAtOfWrongType,
    /// <summary>The token counts are of the wrong type (a string).</summary>
    TokensOfWrongType,
    /// <summary>A token count is negative.</summary>
    NegativeTokens,
    /// <summary>The parts are not a list (a string).</summary>
    PartsOfWrongType,
    /// <summary>The error is not an error (a string in JSON, cut-off JSON in a column).</summary>
    BadError,
    /// <summary>The record is cut off half-way (not valid JSON).</summary>
    Truncated,
    /// <summary>One part is JSON null.</summary>
    NullPart,
    /// <summary>One part has a <c>type</c> AgentCore does not know.</summary>
    UnknownPartType,
    /// <summary>One part has no <c>type</c>.</summary>
    PartMissingType,
    /// <summary>One part has no <c>id</c>.</summary>
    PartMissingId,
    /// <summary>One (tool) part has a field of the wrong type: <c>callId</c> is a number.</summary>
    PartFieldOfWrongType,
    /// <summary>One (tool) part has a required field that is JSON null: <c>toolName</c>.</summary>
    PartNullField,
    /// <summary>One (tool) part has a <c>state</c> out of range (42).</summary>
    PartStateOutOfRange,
}
