using System.Globalization;
using System.Security.Cryptography;

namespace AgentCore;

/// <summary>The kinds of id AgentCore creates, each with its prefix.</summary>
internal enum IdKind
{
    Session,
    Message,
    Part,
}

/// <summary>
/// Creates and validates ids: a prefix (<c>ses_</c>, <c>msg_</c>, <c>prt_</c>) and 26 characters that sort
/// in creation order: 14 hex digits of milliseconds and a per-process counter, then random letters.
/// </summary>
/// <remarks>
/// Ids from one process are strictly increasing (a counter breaks ties within a millisecond and the clock
/// is never allowed to go backwards); ids from different processes sort by time and differ by their
/// random tail.
/// </remarks>
internal static class Identifier
{
    public const int MaxLength = 64;
    private const int TimeHexDigits = 14;
    private const int RandomLength = 12;
    private const string RandomAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz";

    private static long s_lastValue;

    // Random bytes are taken from the cryptographic generator a buffer at a time, per thread, not one call per id.
    [ThreadStatic]
    private static byte[]? t_random;
    [ThreadStatic]
    private static int t_randomUsed;

    public static string Prefix(IdKind kind) => kind switch
    {
        IdKind.Session => "ses_",
        IdKind.Message => "msg_",
        IdKind.Part => "prt_",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>A new ascending id.</summary>
    public static string Create(IdKind kind, TimeProvider? time = null)
    {
        long now = (time ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds();
        // 4096 ids per millisecond before borrowing from the next one: ms * 4096 + counter (lock-free: a compare-and-swap).
        long last = Volatile.Read(ref s_lastValue);
        long value;
        while (true)
        {
            value = Math.Max(now << 12, last + 1);
            long seen = Interlocked.CompareExchange(ref s_lastValue, value, last);
            if (seen == last)
            {
                break;
            }

            last = seen;
        }

        string prefix = Prefix(kind);
        return string.Create(prefix.Length + TimeHexDigits + RandomLength, (prefix, value), static (span, state) =>
        {
            state.prefix.AsSpan().CopyTo(span);
            var rest = span[state.prefix.Length..];
            state.value.TryFormat(rest[..TimeHexDigits], out _, "x14", CultureInfo.InvariantCulture);
            var random = RandomBytes();
            for (int i = 0; i < RandomLength; i++)
            {
                rest[TimeHexDigits + i] = RandomAlphabet[random[i] % RandomAlphabet.Length];
            }
        });
    }

    /// <summary><see cref="RandomLength"/> bytes from the cryptographic generator, not handed out before.</summary>
    private static ReadOnlySpan<byte> RandomBytes()
    {
        var buffer = t_random ??= new byte[RandomLength * 32];
        if (t_randomUsed == 0 || t_randomUsed + RandomLength > buffer.Length)
        {
            RandomNumberGenerator.Fill(buffer);
            t_randomUsed = 0;
        }

        var bytes = buffer.AsSpan(t_randomUsed, RandomLength);
        t_randomUsed += RandomLength;
        return bytes;
    }

    /// <summary>Whether <paramref name="id"/> is a well-formed id of <paramref name="kind"/>.</summary>
    public static bool IsValid(string? id, IdKind kind)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength)
        {
            return false;
        }

        string prefix = Prefix(kind);
        if (!id.StartsWith(prefix, StringComparison.Ordinal) || id.Length == prefix.Length)
        {
            return false;
        }

        foreach (char c in id.AsSpan(prefix.Length))
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="id"/> unless it is a valid id of <paramref name="kind"/>.</summary>
    public static string Validate(string? id, IdKind kind, string paramName)
    {
        if (id is null)
        {
            throw new ArgumentNullException(paramName);
        }

        if (!IsValid(id, kind))
        {
            throw new ArgumentException(
                $"'{Printable(id)}' is not a valid {kind.ToString().ToLowerInvariant()} id: expected '{Prefix(kind)}' followed by " +
                $"letters, digits, '_' or '-', at most {MaxLength} characters in all.",
                paramName);
        }

        return id;
    }

    private static string Printable(string id)
    {
        string shown = id.Length > 80 ? id[..80] + "…" : id;
        return string.Concat(shown.Select(static c => char.IsControl(c) ? '?' : c));
    }
}
