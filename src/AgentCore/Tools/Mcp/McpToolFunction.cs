using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace AgentCore;

/// <summary>
/// One MCP tool as the model sees it: the server's tool under its <c>&lt;server&gt;_&lt;tool&gt;</c> name. Calling it
/// returns the result as <see cref="AIContent"/>s (see <see cref="McpToolResults"/>); an error result throws <see cref="ToolException"/>.
/// </summary>
internal sealed class McpToolFunction : DelegatingAIFunction
{
    public McpToolFunction(McpClientTool tool, string name)
        : base(tool)
    {
        Tool = tool;
        Name = name;
    }

    /// <summary>The SDK's tool, bound to the connection it was listed on.</summary>
    public McpClientTool Tool { get; }

    public override string Name { get; }

    protected override async ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
    {
        var result = await Tool.CallAsync(arguments, progress: null, new RequestOptions { JsonSerializerOptions = Tool.JsonSerializerOptions }, cancellationToken).ConfigureAwait(false);
        return McpToolResults.ToContents(result, Name, Tool.JsonSerializerOptions);
    }
}

/// <summary>Turns an MCP <see cref="CallToolResult"/> into what a tool call returns to the engine.</summary>
internal static class McpToolResults
{
    private const string OctetStream = "application/octet-stream";

    /// <summary>
    /// The result's contents, in order. Text, images, audio and embedded resources go through the SDK's own conversion
    /// (<see cref="ModelContextProtocol.AIContentExtensions.ToAIContent(ContentBlock, JsonSerializerOptions)"/>): text and text resources
    /// become <see cref="TextContent"/>; images, audio and binary resources <see cref="DataContent"/> with their media
    /// type (<c>application/octet-stream</c> when it is missing or not a media type), a binary resource named by its
    /// URI. Resource links, which the SDK does not convert, become a line of text naming the link; any other block a
    /// text of its JSON; structured content a <see cref="TextContent"/> of its JSON, unless a text block already carries
    /// the same JSON. A result flagged <c>isError</c> throws <see cref="ToolException"/> with its text.
    /// </summary>
    public static IList<AIContent> ToContents(CallToolResult result, string toolName, JsonSerializerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.IsError == true)
        {
            throw new ToolException(ErrorText(result, toolName));
        }

        var contents = new List<AIContent>(result.Content.Count + 1);
        JsonElement? structured = result.StructuredContent is { ValueKind: not JsonValueKind.Undefined } s ? s : null;
        bool structuredInText = false;
        foreach (var block in result.Content)
        {
            if (block is TextContentBlock text && structured is { } json)
            {
                structuredInText = structuredInText || SameJson(text.Text, json);
            }

            contents.Add(block switch
            {
                TextContentBlock or ImageContentBlock or AudioContentBlock or EmbeddedResourceBlock => Convert(block, options),
                ResourceLinkBlock link => new TextContent(LinkText(link)) { RawRepresentation = block },
                _ => AsJson(block),
            });
        }

        if (structured is { } value && !structuredInText)
        {
            contents.Add(new TextContent(value.GetRawText()) { RawRepresentation = value });
        }

        return contents;
    }

    /// <summary>
    /// The SDK's conversion of a block it knows; a media type it cannot use becomes <c>application/octet-stream</c>, and
    /// a block it cannot convert a text of its JSON.
    /// </summary>
    private static AIContent Convert(ContentBlock block, JsonSerializerOptions? options)
    {
        AIContent? content;
        try
        {
            content = block.ToAIContent(options);
        }
        catch (ArgumentException) when (BytesOf(block) is { } bytes)
        {
            // DataContent refuses a blank or malformed media type: keep the bytes, drop the type.
            content = new DataContent(bytes, OctetStream) { RawRepresentation = block };
        }
        catch (NotSupportedException)
        {
            // An embedded resource of a kind the SDK does not know.
            content = null;
        }

        if (content is DataContent data && block is EmbeddedResourceBlock { Resource: { } resource })
        {
            data.Name ??= resource.Uri;
        }

        return content ?? AsJson(block);
    }

    private static TextContent AsJson(ContentBlock block) =>
        new(JsonSerializer.Serialize(block, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ContentBlock)))) { RawRepresentation = block };

    private static ReadOnlyMemory<byte>? BytesOf(ContentBlock block) => block switch
    {
        ImageContentBlock image => image.DecodedData,
        AudioContentBlock audio => audio.DecodedData,
        EmbeddedResourceBlock { Resource: BlobResourceContents blob } => blob.DecodedData,
        _ => null,
    };

    private static string ErrorText(CallToolResult result, string toolName)
    {
        var text = new StringBuilder();
        foreach (var block in result.Content)
        {
            string? part = block switch
            {
                TextContentBlock t => t.Text,
                EmbeddedResourceBlock { Resource: TextResourceContents r } => r.Text,
                _ => null,
            };
            if (!string.IsNullOrEmpty(part))
            {
                if (text.Length > 0)
                {
                    text.Append('\n');
                }

                text.Append(part);
            }
        }

        if (text.Length == 0 && result.StructuredContent is { ValueKind: not JsonValueKind.Undefined } structured)
        {
            text.Append(structured.GetRawText());
        }

        return text.Length > 0 ? text.ToString() : $"The tool '{toolName}' reported an error without a message.";
    }

    private static string LinkText(ResourceLinkBlock link)
    {
        var text = new StringBuilder("Resource link: ").Append(link.Title ?? link.Name).Append(" <").Append(link.Uri).Append('>');
        if (!string.IsNullOrEmpty(link.MimeType))
        {
            text.Append(" (").Append(link.MimeType).Append(')');
        }

        if (!string.IsNullOrEmpty(link.Description))
        {
            text.Append(": ").Append(link.Description);
        }

        return text.ToString();
    }

    private static bool SameJson(string text, JsonElement json)
    {
        var trimmed = text.AsSpan().Trim();
        if (trimmed.IsEmpty || (trimmed[0] != '{' && trimmed[0] != '['))
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return JsonElement.DeepEquals(document.RootElement, json);
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
