using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentCore;

/// <summary>Writes an <see cref="ExitReason"/> as its string value.</summary>
internal sealed class ExitReasonJsonConverter : JsonConverter<ExitReason>
{
    public override ExitReason Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new(reader.GetString() ?? throw new JsonException("An exit reason must be a string."));

    public override void Write(Utf8JsonWriter writer, ExitReason value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Value);
}
