using System.Buffers.Binary;
using System.Text;

namespace AgentCore;

/// <summary>
/// A position in the session listing order (newest first by <see cref="SessionInfo.CreatedAt"/>, then by id descending):
/// the page after it starts with the first session that comes after this creation time and id in that order.
/// <see cref="ToString"/> gives the opaque text of <see cref="SessionQuery.Cursor"/>; <see cref="Parse(string)"/> reads it back.
/// </summary>
/// <param name="CreatedAt">The creation time of the last session of the page before.</param>
/// <param name="SessionId">The id of that session.</param>
/// <exception cref="ArgumentException"><paramref name="SessionId"/> is malformed (the message names it).</exception>
public sealed record SessionCursor(DateTimeOffset CreatedAt, string SessionId)
{
    private const byte FormatVersion = 1;

    /// <summary>The id of the last session of the page before.</summary>
    public string SessionId { get; init; } = Identifier.Validate(SessionId, IdKind.Session, nameof(SessionId));

    /// <summary>The position of <paramref name="session"/>: the next page starts after it.</summary>
    /// <param name="session">The last session of a page.</param>
    /// <returns>Its position.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="session"/> is null.</exception>
    public static SessionCursor After(SessionInfo session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return new SessionCursor(session.CreatedAt, session.Id);
    }

    /// <summary>Whether <paramref name="session"/> comes after this position in the listing order (so it belongs to a later page).</summary>
    /// <param name="session">A session.</param>
    /// <returns>True when it was created earlier, or at the same time with a smaller id (ordinal).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="session"/> is null.</exception>
    public bool Precedes(SessionInfo session)
    {
        ArgumentNullException.ThrowIfNull(session);
        int byTime = session.CreatedAt.UtcTicks.CompareTo(CreatedAt.UtcTicks);
        return byTime < 0 || (byTime == 0 && string.CompareOrdinal(session.Id, SessionId) < 0);
    }

    /// <summary>Reads a cursor written by <see cref="ToString"/>.</summary>
    /// <param name="cursor">The cursor's text.</param>
    /// <returns>The position it names.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="cursor"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="cursor"/> is not a cursor (the message names it).</exception>
    public static SessionCursor Parse(string cursor) => Parse(cursor, nameof(cursor));

    internal static SessionCursor Parse(string cursor, string paramName)
    {
        ArgumentNullException.ThrowIfNull(cursor, paramName);
        Span<byte> bytes = stackalloc byte[128];
        if (cursor.Length is > 0 and <= 160
            && System.Buffers.Text.Base64Url.IsValid(cursor.AsSpan(), out int length) && length is > 9 and <= 128
            && System.Buffers.Text.Base64Url.DecodeFromChars(cursor.AsSpan(), bytes) == length
            && bytes[0] == FormatVersion)
        {
            long ticks = BinaryPrimitives.ReadInt64BigEndian(bytes[1..9]);
            string id = Encoding.ASCII.GetString(bytes[9..length]);
            if (ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks && Identifier.IsValid(id, IdKind.Session))
            {
                return new SessionCursor(new DateTimeOffset(ticks, TimeSpan.Zero), id);
            }
        }

        string shown = cursor.Length > 80 ? cursor[..80] + "…" : cursor;
        throw new ArgumentException($"'{shown}' is not a session listing cursor: pass a SessionPage.NextCursor unchanged.", paramName);
    }

    /// <summary>The cursor as opaque URL-safe text, for <see cref="SessionQuery.Cursor"/>.</summary>
    /// <returns>The text <see cref="Parse(string)"/> reads.</returns>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[9 + SessionId.Length];
        bytes[0] = FormatVersion;
        BinaryPrimitives.WriteInt64BigEndian(bytes[1..9], CreatedAt.UtcTicks);
        Encoding.ASCII.GetBytes(SessionId, bytes[9..]);
        return System.Buffers.Text.Base64Url.EncodeToString(bytes);
    }
}
