using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentCore;

/// <summary>
/// Reads and writes <see cref="TokenUsage"/> as <c>{"input":…,"output":…,"reasoning":…,"cacheRead":…,"cacheWrite":…}</c>
/// without the constructor-argument path (it is on every stored message, so it is on the load path).
/// Unknown properties are skipped; missing ones are 0.
/// </summary>
internal sealed class TokenUsageJsonConverter : JsonConverter<TokenUsage>
{
    public override TokenUsage Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"Token usage must be a JSON object, not {reader.TokenType}.");
        }

        long input = 0, output = 0, reasoning = 0, cacheRead = 0, cacheWrite = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                throw new JsonException("Malformed token usage.");
            }

            ref long target = ref input;
            bool known = true;
            if (reader.ValueTextEquals("input"u8))
            {
                target = ref input;
            }
            else if (reader.ValueTextEquals("output"u8))
            {
                target = ref output;
            }
            else if (reader.ValueTextEquals("reasoning"u8))
            {
                target = ref reasoning;
            }
            else if (reader.ValueTextEquals("cacheRead"u8))
            {
                target = ref cacheRead;
            }
            else if (reader.ValueTextEquals("cacheWrite"u8))
            {
                target = ref cacheWrite;
            }
            else
            {
                known = false;
            }

            reader.Read();
            if (known)
            {
                target = reader.GetInt64();
            }
            else
            {
                reader.Skip();
            }
        }

        return new TokenUsage(input, output, reasoning, cacheRead, cacheWrite);
    }

    public override void Write(Utf8JsonWriter writer, TokenUsage value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber("input"u8, value.Input);
        writer.WriteNumber("output"u8, value.Output);
        writer.WriteNumber("reasoning"u8, value.Reasoning);
        writer.WriteNumber("cacheRead"u8, value.CacheRead);
        writer.WriteNumber("cacheWrite"u8, value.CacheWrite);
        writer.WriteEndObject();
    }
}
