using System.Globalization;
using System.Text;
using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// How the database stores keep a record's values in columns: roles, UTC instants as ticks, decimals as invariant text,
/// repeated strings shared; and which session changes touch a listing index.
/// </summary>
/// <remarks>
/// Linked source (<c>src/Shared</c>), compiled into each package that needs it as an internal type: implementation, not
/// contract, so it is no part of any package's public API and no package depends on another's internals.
/// </remarks>
internal static class StoredValues
{
    /// <summary>The role as stored: its value (<c>user</c>, <c>assistant</c>, ...).</summary>
    public static string RoleValue(ChatRole role) => role.Value;

    /// <summary>The role a stored value names, without allocating for the four well-known roles; null for a blank value.</summary>
    public static ChatRole? Role(ReadOnlySpan<byte> utf8)
    {
        if (WellKnownRole(utf8) is { } known)
        {
            return known;
        }

        string value = Encoding.UTF8.GetString(utf8);
        return string.IsNullOrWhiteSpace(value) ? null : new ChatRole(value);
    }

    /// <summary>One of the four well-known roles when <paramref name="utf8"/> spells it; null otherwise.</summary>
    public static ChatRole? WellKnownRole(ReadOnlySpan<byte> utf8)
    {
        if (utf8.SequenceEqual("assistant"u8))
        {
            return ChatRole.Assistant;
        }

        if (utf8.SequenceEqual("user"u8))
        {
            return ChatRole.User;
        }

        if (utf8.SequenceEqual("system"u8))
        {
            return ChatRole.System;
        }

        if (utf8.SequenceEqual("tool"u8))
        {
            return ChatRole.Tool;
        }

        return null;
    }

    /// <summary>The role a stored value names, reusing the four well-known roles; null for a blank value.</summary>
    public static ChatRole? Role(string value) => value switch
    {
        "assistant" => ChatRole.Assistant,
        "user" => ChatRole.User,
        "system" => ChatRole.System,
        "tool" => ChatRole.Tool,
        _ when string.IsNullOrWhiteSpace(value) => null,
        _ => new ChatRole(value),
    };

    /// <summary>A UTC instant from ticks; null when the ticks are out of range.</summary>
    public static DateTimeOffset? UtcFromTicks(long ticks) =>
        ticks is >= 0 and <= 3_155_378_975_999_999_999 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>A decimal as invariant text, exactly.</summary>
    public static string FormatDecimal(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Reads what <see cref="FormatDecimal"/> wrote, from ASCII bytes; null when they are not a number.</summary>
    public static decimal? ParseDecimal(ReadOnlySpan<byte> ascii)
    {
        if (ascii.Length == 1 && ascii[0] == (byte)'0')
        {
            return 0m;
        }

        if (ascii.IsEmpty || ascii.Length > 64)
        {
            return null;
        }

        Span<char> chars = stackalloc char[ascii.Length];
        if (System.Text.Ascii.ToUtf16(ascii, chars, out int written) != System.Buffers.OperationStatus.Done)
        {
            return null;
        }

        return decimal.TryParse(chars[..written], NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out decimal value)
            ? value
            : null;
    }

    /// <summary>
    /// Returns <paramref name="last"/> when it spells <paramref name="utf8"/> (ASCII), else decodes the bytes and
    /// remembers the string: repeated values (provider and model ids, finish reasons) share one string per load.
    /// </summary>
    public static string CachedString(ReadOnlySpan<byte> utf8, ref string? last)
    {
        if (last is not null && System.Text.Ascii.Equals(utf8, last))
        {
            return last;
        }

        return last = Encoding.UTF8.GetString(utf8);
    }

    /// <summary>
    /// Whether <paramref name="a"/> and <paramref name="b"/> have the same creation time and metadata: the keys a SQL
    /// store's listing index holds besides the session's own row, so an update that keeps them need not rewrite them.
    /// </summary>
    public static bool SameListingKeys(SessionInfo a, SessionInfo b)
    {
        if (a.CreatedAt.UtcTicks != b.CreatedAt.UtcTicks || a.Metadata.Count != b.Metadata.Count)
        {
            return false;
        }

        foreach (var (key, value) in a.Metadata)
        {
            if (!b.Metadata.TryGetValue(key, out string? other) || !string.Equals(value, other, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
