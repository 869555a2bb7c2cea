using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentCore;

/// <summary>
/// How the stores keep records as JSON: a session whole, a message's own fields apart from its parts, and a part
/// with its streamed text apart so a database store can append to the text without rewriting the part.
/// </summary>
/// <remarks>Shared by the file store and the database store packages (they see AgentCore's internals).</remarks>
internal static class StoredRecords
{
    /// <summary>A copy of <paramref name="message"/>'s own fields, with no parts.</summary>
    public static SessionMessage HeaderOf(SessionMessage message) => new()
    {
        Id = message.Id,
        SessionId = message.SessionId,
        Role = message.Role,
        Parts = [],
        CreatedAt = message.CreatedAt,
        CompletedAt = message.CompletedAt,
        ProviderId = message.ProviderId,
        ModelId = message.ModelId,
        Tokens = message.Tokens,
        Cost = message.Cost,
        IsSummary = message.IsSummary,
        Error = message.Error,
        FinishReason = message.FinishReason,
    };

    /// <summary>The JSON of a session.</summary>
    public static string SerializeSession(SessionInfo session) =>
        JsonSerializer.Serialize(session, AgentCoreJsonContext.Default.SessionInfo);

    /// <summary>Reads a session; null when the JSON is not a well-formed session.</summary>
    /// <exception cref="JsonException">The text is not valid JSON.</exception>
    public static SessionInfo? DeserializeSession(string json)
    {
        var session = JsonSerializer.Deserialize(json, AgentCoreJsonContext.Default.SessionInfo);
        if (session is null || !Identifier.IsValid(session.Id, IdKind.Session) || session.Title is null)
        {
            return null;
        }

        return session.Metadata is null ? session with { Metadata = SessionInfo.EmptyMetadata } : session;
    }

    /// <summary>The JSON of a message's own fields, without its parts.</summary>
    public static string SerializeHeader(SessionMessage message) =>
        JsonSerializer.Serialize(HeaderOf(message), AgentCoreJsonContext.Default.SessionMessage);

    /// <summary>Reads a message's own fields (its parts come separately); null when the JSON is not a well-formed message.</summary>
    /// <exception cref="JsonException">The text is not valid JSON.</exception>
    public static SessionMessage? DeserializeHeader(string json)
    {
        var message = JsonSerializer.Deserialize(json, AgentCoreJsonContext.Default.SessionMessage);
        if (message is null || !Identifier.IsValid(message.Id, IdKind.Message) || !Identifier.IsValid(message.SessionId, IdKind.Session))
        {
            return null;
        }

        message.Parts = [];
        return message;
    }

    /// <summary>
    /// Splits a part into its JSON and, for <see cref="TextPart"/> and <see cref="ReasoningPart"/>, its text as UTF-8
    /// (left out of the JSON), so the text can grow by appends.
    /// </summary>
    public static (string Json, byte[]? Text) SplitPart(MessagePart part)
    {
        string? text = part switch
        {
            TextPart t => t.Text,
            ReasoningPart r => r.Text,
            _ => null,
        };
        if (text is null)
        {
            return (JsonSerializer.Serialize(part, AgentCoreJsonContext.Default.MessagePart), null);
        }

        var node = JsonSerializer.SerializeToNode(part, AgentCoreJsonContext.Default.MessagePart)!.AsObject();
        node.Remove("text");
        return (node.ToJsonString(), Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Joins what <see cref="SplitPart"/> split; null when the JSON is not a well-formed part.</summary>
    /// <exception cref="JsonException">The text is not valid JSON.</exception>
    public static MessagePart? JoinPart(string json, byte[]? text)
    {
        var part = JsonSerializer.Deserialize(json, AgentCoreJsonContext.Default.MessagePart);
        if (part is null || part.Id is null)
        {
            return null;
        }

        if (text is not null)
        {
            string decoded = Encoding.UTF8.GetString(text);
            switch (part)
            {
                case TextPart t:
                    t.Text = decoded;
                    break;
                case ReasoningPart r:
                    r.Text = decoded;
                    break;
            }
        }

        return part;
    }

    /// <summary>The text a <see cref="TextPart"/> or <see cref="ReasoningPart"/> grew by, as UTF-8; null for other parts.</summary>
    public static byte[]? AppendableText(MessagePart part, string? appendedText) =>
        appendedText is not null && part is TextPart or ReasoningPart ? Encoding.UTF8.GetBytes(appendedText) : null;

    /// <summary>A decimal as invariant text, exactly.</summary>
    public static string FormatDecimal(decimal value) => value.ToString(CultureInfo.InvariantCulture);
}
