using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace AgentCore;

/// <summary>One JSON record as a line of UTF-8 text: what the file store's journal and the usage history append.</summary>
internal static class JsonLine
{
    /// <summary>Serializes <paramref name="value"/> followed by a newline, without an extra copy.</summary>
    public static ReadOnlyMemory<byte> Serialize<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            JsonSerializer.Serialize(writer, value, typeInfo);
        }

        buffer.Write("\n"u8);
        return buffer.WrittenMemory;
    }
}
