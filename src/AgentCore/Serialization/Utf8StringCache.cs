using System.Text;
using System.Text.Json;

namespace AgentCore;

/// <summary>The last few distinct strings a field held, found by their UTF-8 bytes.</summary>
internal sealed class Utf8StringCache
{
    private const int Slots = 8;
    private readonly byte[][] _bytes = new byte[Slots][];
    private readonly string[] _strings = new string[Slots];
    private int _next;

    /// <summary>The string of <paramref name="utf8"/> (unescaped JSON string bytes): a remembered one, or decoded (and remembered).</summary>
    /// <exception cref="InvalidOperationException">The bytes are not valid UTF-8 (as <see cref="Utf8JsonReader.GetString"/> throws).</exception>
    public string Get(ReadOnlySpan<byte> utf8)
    {
        for (int i = 0; i < Slots; i++)
        {
            if (_bytes[i] is { } known && utf8.SequenceEqual(known))
            {
                return _strings[i];
            }
        }

        if (utf8.Length > 256)
        {
            return Decode(utf8);
        }

        string value = Decode(utf8);
        _bytes[_next] = utf8.ToArray();
        _strings[_next] = value;
        _next = (_next + 1) % Slots;
        return value;
    }

    private static string Decode(ReadOnlySpan<byte> utf8)
    {
        try
        {
            return Strict.GetString(utf8);
        }
        catch (DecoderFallbackException ex)
        {
            throw new InvalidOperationException("The string is not valid UTF-8.", ex);
        }
    }

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
