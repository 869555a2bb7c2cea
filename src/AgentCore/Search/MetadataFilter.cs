namespace AgentCore;

/// <summary>The metadata filter <see cref="SessionQuery"/> and <see cref="SessionSearchQuery"/> share: exact, ordinal pairs.</summary>
internal static class MetadataFilter
{
    /// <summary>A validated copy of <paramref name="value"/>; throws naming <paramref name="paramName"/>.</summary>
    public static IReadOnlyDictionary<string, string> Copy(IReadOnlyDictionary<string, string> value, string paramName)
    {
        ArgumentNullException.ThrowIfNull(value, paramName);
        var copy = new Dictionary<string, string>(value.Count, StringComparer.Ordinal);
        foreach (var (key, text) in value)
        {
            if (string.IsNullOrEmpty(key))
            {
                throw new ArgumentException("A metadata filter's key may not be empty.", paramName);
            }

            copy[key] = text ?? throw new ArgumentException($"The metadata filter '{key}' has a null value.", paramName);
        }

        return copy;
    }

    /// <summary>Whether <paramref name="session"/> holds every pair of <paramref name="filter"/>.</summary>
    public static bool Matches(IReadOnlyDictionary<string, string> filter, SessionInfo session)
    {
        foreach (var (key, value) in filter)
        {
            if (session.Metadata is null || !session.Metadata.TryGetValue(key, out string? stored) || !string.Equals(stored, value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
