using System.Text;
using System.Text.Json;
using AgentCore.Storage;

namespace AgentCore;

/// <summary>
/// How the database stores keep a part: its type, its JSON (none for text and reasoning parts, which are an id and their
/// text) and, for text and reasoning parts, the text as UTF-8 in a column of its own, so it can grow by appends.
/// </summary>
/// <remarks>Linked source (<c>src/Shared/Sql</c>), compiled into each SQL store package as an internal type.</remarks>
internal static class StoredParts
{
    /// <summary>The type discriminator of <see cref="TextPart"/>.</summary>
    public const string TextType = "text";

    /// <summary>The type discriminator of <see cref="ReasoningPart"/>.</summary>
    public const string ReasoningType = "reasoning";

    /// <summary>A part as the database stores it: its type, its JSON (null for text and reasoning parts) and their text.</summary>
    public static (string Type, string? Json, byte[]? Text) Split(MessagePart part)
    {
        switch (part)
        {
            case TextPart text:
                return (TextType, null, Encoding.UTF8.GetBytes(text.Text));
            case ReasoningPart reasoning:
                return (ReasoningType, null, Encoding.UTF8.GetBytes(reasoning.Text));
            default:
                byte[] json = StoredRecords.SerializePart(part);
                return (TypeOf(json), Encoding.UTF8.GetString(json), null);
        }
    }

    /// <summary>A text or reasoning part read from its columns; null when <paramref name="type"/> is neither.</summary>
    public static MessagePart? Textual(ReadOnlySpan<byte> type, string id, ReadOnlySpan<byte> text)
    {
        if (type.SequenceEqual("text"u8))
        {
            return new TextPart { Id = id, Text = Encoding.UTF8.GetString(text) };
        }

        if (type.SequenceEqual("reasoning"u8))
        {
            return new ReasoningPart { Id = id, Text = Encoding.UTF8.GetString(text) };
        }

        return null;
    }

    /// <summary>The text a <see cref="TextPart"/> or <see cref="ReasoningPart"/> grew by, as UTF-8; null for other parts.</summary>
    public static byte[]? AppendableText(MessagePart part, string? appendedText) =>
        appendedText is not null && part is TextPart or ReasoningPart ? Encoding.UTF8.GetBytes(appendedText) : null;

    private static string TypeOf(ReadOnlySpan<byte> json)
    {
        // The polymorphic serializer writes the discriminator first.
        var reader = new Utf8JsonReader(json);
        if (reader.Read() && reader.TokenType == JsonTokenType.StartObject && reader.Read() && reader.ValueTextEquals("type"u8)
            && reader.Read() && reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString()!;
        }

        throw new InvalidOperationException("A message part serialized without its type discriminator first.");
    }
}
