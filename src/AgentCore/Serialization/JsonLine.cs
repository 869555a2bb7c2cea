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

    /// <summary>Serializes each of <paramref name="values"/> as a line, one after the other, in one array of exactly that size.</summary>
    public static ReadOnlyMemory<byte> SerializeAll<T>(IReadOnlyList<T> values, JsonTypeInfo<T> typeInfo)
    {
        if (values.Count == 1)
        {
            return Serialize(values[0], typeInfo);
        }

        var jsons = new byte[values.Count][];
        int length = 0;
        for (int i = 0; i < jsons.Length; i++)
        {
            jsons[i] = JsonSerializer.SerializeToUtf8Bytes(values[i], typeInfo);
            length += jsons[i].Length + 1;
        }

        byte[] lines = new byte[length];
        int at = 0;
        foreach (byte[] json in jsons)
        {
            json.CopyTo(lines, at);
            at += json.Length;
            lines[at++] = (byte)'\n';
        }

        return lines;
    }
}
