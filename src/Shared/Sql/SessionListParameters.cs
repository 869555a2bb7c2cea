namespace AgentCore;

/// <summary>
/// A SQL dialect's parameters of one session listing statement (<see cref="SessionListSql"/>): each member binds a value
/// and returns the text that stands for it in the statement.
/// </summary>
/// <remarks>Linked source (<c>src/Shared/Sql</c>), compiled into each SQL store package as an internal type.</remarks>
internal abstract class SessionListParameters
{
    /// <summary>Binds a metadata pair the sessions must have.</summary>
    /// <param name="index">The pair's position in the filter (0 for the first).</param>
    /// <param name="key">The metadata key.</param>
    /// <param name="value">Its value.</param>
    /// <returns>The placeholders of the key and the value.</returns>
    public abstract (string Key, string Value) Metadata(int index, string key, string value);

    /// <summary>Binds the parent session's id.</summary>
    /// <param name="parentId">The id.</param>
    /// <returns>Its placeholder.</returns>
    public abstract string Parent(string parentId);

    /// <summary>Binds the exclusive lower bound of the update time.</summary>
    /// <param name="bound">The bound.</param>
    /// <returns>The comparison that follows the column, for example <c>&gt; $1</c>.</returns>
    public abstract string UpdatedAfter(DateTimeOffset bound);

    /// <summary>Binds the exclusive upper bound of the update time.</summary>
    /// <param name="bound">The bound.</param>
    /// <returns>The comparison that follows the column, for example <c>&lt; $1</c>.</returns>
    public abstract string UpdatedBefore(DateTimeOffset bound);

    /// <summary>The (creation time, id) the listing continues after, when it does.</summary>
    /// <returns>The row value <c>(created, id)</c> of placeholders; null when the listing starts at the newest session.</returns>
    public abstract string? Cursor();

    /// <summary>The most rows the statement returns.</summary>
    /// <returns>Its placeholder.</returns>
    public abstract string Limit();
}
