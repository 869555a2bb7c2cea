namespace AgentCore.Testing;

/// <summary>
/// A way a stored session record can be bad, for <see cref="SessionStoreConformanceTests.DamageSessionAsync"/>. A store
/// must skip such a session with a warning: it reads as null and is left out of listings.
/// </summary>
public enum SessionRecordDamage
{
    /// <summary>The record is cut off half-way (not valid JSON).</summary>
    Truncated,
    /// <summary>The record is JSON but not an object (an array).</summary>
    NotAnObject,
    /// <summary>The <c>id</c> field is missing.</summary>
    MissingId,
    /// <summary>The <c>id</c> field is a path-traversal string, not a session id.</summary>
    MalformedId,
    /// <summary>The <c>id</c> field names another session than the one the record is stored under.</summary>
    AnotherSessionsId,
    /// <summary>The <c>title</c> field is missing.</summary>
    MissingTitle,
    /// <summary>The <c>title</c> field is JSON null.</summary>
    NullTitle,
    /// <summary>The <c>title</c> field is a number.</summary>
    TitleOfWrongType,
    /// <summary>The <c>createdAt</c> field is a string that is not a time.</summary>
    BadCreatedAt,
    /// <summary>The <c>createdAt</c> field is a number.</summary>
    CreatedAtOfWrongType,
    /// <summary>The <c>tokens</c> field is a string.</summary>
    TokensOfWrongType,
    /// <summary>The <c>tokens</c> field holds a negative count.</summary>
    NegativeTokens,
    /// <summary>The <c>metadata</c> field holds a null value.</summary>
    NullMetadataValue,
    /// <summary>The <c>metadata</c> field is an array.</summary>
    MetadataOfWrongType,
}
