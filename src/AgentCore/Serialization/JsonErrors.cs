using System.Text.Json;

namespace AgentCore;

/// <summary>Describes JSON errors for logs without the content that failed to parse.</summary>
internal static class JsonErrors
{
    /// <summary>
    /// Where the JSON went wrong: <see cref="JsonException.Message"/> can quote the text it read, which may be a
    /// message's content, so it is never logged.
    /// </summary>
    public static string Describe(JsonException exception) =>
        exception.BytePositionInLine is { } position
            ? $"not valid JSON for the record (at {exception.Path ?? "$"}, byte {position})"
            : $"not valid JSON for the record (at {exception.Path ?? "$"})";
}
