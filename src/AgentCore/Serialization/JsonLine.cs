using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace AgentCore;

/// <summary>One JSON record as a line of UTF-8 text: what the file store's journal and session files and the usage history append.</summary>
internal static class JsonLine
{
    /// <summary>
    /// Serializes <paramref name="value"/> followed by a newline, in an array of exactly that size: the serializer writes
    /// through its pooled buffer, where a growing buffer of this method's own would allocate about 4 KB per record.
    /// </summary>
    public static ReadOnlyMemory<byte> Serialize<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        byte[] line = new byte[json.Length + 1];
        json.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        return line;
    }
}
