using System.Text.Json.Serialization;

namespace AgentCore;

/// <summary>
/// The JSON document <see cref="ISessionService.ExportAsync"/> writes and <see cref="ISessionService.ImportAsync"/> reads.
/// </summary>
/// <remarks>
/// <para>One UTF-8 JSON object:</para>
/// <code>
/// {
///   "format": "agentcore.session",
///   "version": 1,
///   "session": { ...the SessionInfo... },
///   "messages": [ { ...a SessionMessage with its "parts"... }, ... ]
/// }
/// </code>
/// <para>The session and messages have the shape the stores keep (see <see cref="AgentCoreJson"/>): camelCase names,
/// nulls omitted, parts with a <c>type</c> discriminator, times in ISO 8601 with their offset, decimals as numbers.
/// Messages are in ascending id order and include those a revert took out (<see cref="SessionInfo.RevertedAfter"/>).</para>
/// <para>A reader refuses a document whose <c>format</c> is not <see cref="Name"/> or whose <c>version</c> is not
/// <see cref="Version"/>: a later AgentCore that changes the shape writes a higher version.</para>
/// </remarks>
public static class SessionExportFormat
{
    /// <summary>The value of the document's <c>format</c> member.</summary>
    public const string Name = "agentcore.session";

    /// <summary>The version this AgentCore writes and reads.</summary>
    public const int Version = 1;

    /// <summary>The largest document <see cref="ISessionService.ImportAsync"/> reads: 256 MiB.</summary>
    public const long MaxBytes = 256L * 1024 * 1024;

    /// <summary>The deepest nesting of JSON objects and arrays <see cref="ISessionService.ImportAsync"/> reads (tool arguments included).</summary>
    public const int MaxDepth = 64;
}

/// <summary>The document of <see cref="SessionExportFormat"/>.</summary>
internal sealed class SessionExportDocument
{
    [JsonPropertyOrder(0)]
    public string? Format { get; set; }

    [JsonPropertyOrder(1)]
    public int Version { get; set; }

    [JsonPropertyOrder(2)]
    public SessionInfo? Session { get; set; }

    [JsonPropertyOrder(3)]
    public List<SessionMessage>? Messages { get; set; }
}
