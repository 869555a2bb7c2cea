using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// Reads and writes <see cref="SessionMessage.Role"/> as its string value. A blank or null role reads as
/// <c>default(ChatRole)</c> instead of failing inside <see cref="ChatRole"/>'s constructor, so the store can name the
/// problem ("it has no role") and skip the message; the four well-known roles are reused, not allocated.
/// </summary>
internal sealed class StoredRoleJsonConverter : JsonConverter<ChatRole>
{
    public override bool HandleNull => true;

    public override ChatRole Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Null => default,
        // A well-known role as AgentCore writes it (unescaped) is matched on its bytes: it costs no string.
        JsonTokenType.String when !reader.ValueIsEscaped && !reader.HasValueSequence && StoredValues.WellKnownRole(reader.ValueSpan) is { } known => known,
        JsonTokenType.String => StoredValues.Role(reader.GetString()!) ?? default,
        _ => throw new JsonException($"A role must be a JSON string, not {reader.TokenType}."),
    };

    public override void Write(Utf8JsonWriter writer, ChatRole value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Value);
}
