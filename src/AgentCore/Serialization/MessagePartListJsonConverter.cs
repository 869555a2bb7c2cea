using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using AgentCore.Storage;

namespace AgentCore;

/// <summary>
/// Reads and writes <see cref="SessionMessage.Parts"/>. By default it reads strictly (a part that does not parse fails
/// the whole message, as the serializer would). Inside <see cref="Tolerant"/>, which the stores use when they read a
/// record back, a part that does not parse becomes an <see cref="UnreadablePart"/> holding the reason, so one bad
/// part costs that part, not the message; <see cref="StoredRecords.CheckMessage"/> then removes it with a warning.
/// </summary>
internal sealed class MessagePartListJsonConverter : JsonConverter<List<MessagePart>>
{
    [ThreadStatic]
    private static int t_tolerant;

    /// <summary>Reads parts tolerantly on this thread until the returned scope is disposed.</summary>
    public static TolerantScope Tolerant()
    {
        t_tolerant++;
        return default;
    }

    public override List<MessagePart>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException($"The parts of a message must be a JSON array, not {reader.TokenType}.");
        }

        var typeInfo = (JsonTypeInfo<MessagePart>)options.GetTypeInfo(typeof(MessagePart));
        var parts = new List<MessagePart>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (t_tolerant == 0)
            {
                parts.Add(JsonSerializer.Deserialize(ref reader, typeInfo)!);
                continue;
            }

            var attempt = reader;
            try
            {
                parts.Add(JsonSerializer.Deserialize(ref attempt, typeInfo)!);
                reader = attempt;
                continue;
            }
            catch (Exception ex) when (StoredRecords.IsUnreadable(ex))
            {
                parts.Add(new UnreadablePart { Id = "", Problem = StoredRecords.Describe(ex) });
            }

            if (!reader.TrySkip())
            {
                throw new JsonException("A message part ends before its JSON does.");
            }
        }

        return parts;
    }

    public override void Write(Utf8JsonWriter writer, List<MessagePart> value, JsonSerializerOptions options)
    {
        var typeInfo = (JsonTypeInfo<MessagePart>)options.GetTypeInfo(typeof(MessagePart));
        writer.WriteStartArray();
        foreach (var part in value)
        {
            JsonSerializer.Serialize(writer, part, typeInfo);
        }

        writer.WriteEndArray();
    }

    /// <summary>Ends a <see cref="Tolerant"/> read.</summary>
    public readonly struct TolerantScope : IDisposable
    {
        public void Dispose() => t_tolerant--;
    }
}

/// <summary>
/// Stands, only while a store reads a record back, for a part that did not parse; never stored, never served
/// (<see cref="StoredRecords.CheckMessage"/> removes it).
/// </summary>
internal sealed class UnreadablePart : MessagePart
{
    /// <summary>Why the part could not be read, without its content.</summary>
    public required string Problem { get; init; }
}
