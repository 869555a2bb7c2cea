using System.Text.Json;

namespace AgentCore;

/// <summary>
/// The value readers shared by the one-pass <see cref="Utf8JsonReader"/> readers (<see cref="HistoryLineReader"/>,
/// <see cref="Storage.SessionJsonReader"/>, <see cref="Storage.MessageJsonReader"/>). Each moves to the next token and reads it exactly as the source-generated
/// serializer would; it answers <see langword="false"/> for anything else (a token of another type, a number out of
/// range, the end of the input), and the caller then leaves the decision to the serializer.
/// </summary>
internal static class Utf8JsonValues
{
    /// <summary>Reads a value through <see cref="Utf8JsonReader"/>'s <c>TryGet</c> conversion for <typeparamref name="T"/>.</summary>
    private delegate bool TryGetValue<T>(ref Utf8JsonReader reader, out T value);

    /// <summary>
    /// Moves to the next token: true when it is <paramref name="expected"/> or null (<paramref name="isNull"/> tells
    /// which), false when there is none or it is of another type.
    /// </summary>
    public static bool ReadNullOr(ref Utf8JsonReader reader, JsonTokenType expected, out bool isNull)
    {
        isNull = false;
        if (!reader.Read())
        {
            return false;
        }

        isNull = reader.TokenType == JsonTokenType.Null;
        return isNull || reader.TokenType == expected;
    }

    /// <summary>A string or null; an unescaped string is taken from <paramref name="cache"/> when there is one.</summary>
    public static bool ReadString(ref Utf8JsonReader reader, Utf8StringCache? cache, out string? value)
    {
        value = null;
        if (!ReadNullOr(ref reader, JsonTokenType.String, out bool isNull))
        {
            return false;
        }

        if (!isNull)
        {
            value = cache is not null && !reader.ValueIsEscaped && !reader.HasValueSequence
                ? cache.Get(reader.ValueSpan)
                : reader.GetString();
        }

        return true;
    }

    /// <summary>A string or null.</summary>
    public static bool ReadString(ref Utf8JsonReader reader, out string? value) => ReadString(ref reader, cache: null, out value);

    /// <summary>A number that fits a <see cref="long"/> (not null).</summary>
    public static bool ReadInt64(ref Utf8JsonReader reader, out long value)
    {
        value = 0;
        return reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out value);
    }

    /// <summary>A number that fits an <see cref="int"/> (not null).</summary>
    public static bool ReadInt32(ref Utf8JsonReader reader, out int value)
    {
        value = 0;
        return reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out value);
    }

    /// <summary>A number as a <see cref="double"/> (not null).</summary>
    public static bool ReadDouble(ref Utf8JsonReader reader, out double value)
    {
        value = 0;
        return reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out value);
    }

    /// <summary>A number that fits a <see cref="decimal"/> (not null).</summary>
    public static bool ReadDecimal(ref Utf8JsonReader reader, out decimal value)
    {
        value = 0;
        return reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetDecimal(out value);
    }

    /// <summary>A number that fits a <see cref="long"/>, or null.</summary>
    public static bool ReadNullableInt64(ref Utf8JsonReader reader, out long? value) =>
        ReadNullableNumber(ref reader, static (ref Utf8JsonReader r, out long number) => r.TryGetInt64(out number), out value);

    /// <summary>A number that fits an <see cref="int"/>, or null.</summary>
    public static bool ReadNullableInt32(ref Utf8JsonReader reader, out int? value) =>
        ReadNullableNumber(ref reader, static (ref Utf8JsonReader r, out int number) => r.TryGetInt32(out number), out value);

    /// <summary>A number that fits a <see cref="decimal"/>, or null.</summary>
    public static bool ReadNullableDecimal(ref Utf8JsonReader reader, out decimal? value) =>
        ReadNullableNumber(ref reader, static (ref Utf8JsonReader r, out decimal number) => r.TryGetDecimal(out number), out value);

    /// <summary>Token usage as <see cref="TokenUsageJsonConverter"/> reads it (any other value answers false).</summary>
    public static bool ReadTokens(ref Utf8JsonReader reader, out TokenUsage tokens)
    {
        tokens = default;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        long input = 0, output = 0, reasoning = 0, cacheRead = 0, cacheWrite = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool known = true;
            if (reader.ValueTextEquals("input"u8))
            {
                known = ReadInt64(ref reader, out input);
            }
            else if (reader.ValueTextEquals("output"u8))
            {
                known = ReadInt64(ref reader, out output);
            }
            else if (reader.ValueTextEquals("reasoning"u8))
            {
                known = ReadInt64(ref reader, out reasoning);
            }
            else if (reader.ValueTextEquals("cacheRead"u8))
            {
                known = ReadInt64(ref reader, out cacheRead);
            }
            else if (reader.ValueTextEquals("cacheWrite"u8))
            {
                known = ReadInt64(ref reader, out cacheWrite);
            }
            else
            {
                reader.Skip();
            }

            if (!known)
            {
                return false;
            }
        }

        tokens = new TokenUsage(input, output, reasoning, cacheRead, cacheWrite);
        return reader.TokenType == JsonTokenType.EndObject;
    }

    private static bool ReadNullableNumber<T>(ref Utf8JsonReader reader, TryGetValue<T> tryGet, out T? value)
        where T : struct
    {
        value = null;
        if (!ReadNullOr(ref reader, JsonTokenType.Number, out bool isNull))
        {
            return false;
        }

        if (isNull)
        {
            return true;
        }

        if (!tryGet(ref reader, out T number))
        {
            return false;
        }

        value = number;
        return true;
    }
}
