namespace AgentCore;

/// <summary>A file or binary payload (image, audio, document), inline or by URI.</summary>
public sealed class FilePart : MessagePart
{
    /// <summary>The IANA media type, for example <c>image/png</c>.</summary>
    public required string MediaType { get; set; }

    /// <summary>The file name, when known.</summary>
    public string? Name { get; set; }

    /// <summary>The content, when inline.</summary>
    public byte[]? Data { get; set; }

    /// <summary>Where the content lives, when not inline.</summary>
    public string? Uri { get; set; }
}
