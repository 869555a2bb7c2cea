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
        return McpToolResults.ToContents(result, Name);
    }
}

/// <summary>Turns an MCP <see cref="CallToolResult"/> into what a tool call returns to the engine.</summary>
internal static class McpToolResults
{
    private const string OctetStream = "application/octet-stream";

    /// <summary>
    /// The result's contents, in order: text as <see cref="TextContent"/>; images, audio and binary resources as
    /// <see cref="DataContent"/> with their media type; text resources as <see cref="TextContent"/>; resource links as a
    /// line of text naming the link; structured content as a <see cref="TextContent"/> of its JSON, unless a text block
    /// already carries the same JSON. A result flagged <c>isError</c> throws <see cref="ToolException"/> with its text.
    /// </summary>
    public static IList<AIContent> ToContents(CallToolResult result, string toolName)
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
            switch (block)
            {
                case TextContentBlock text:
                    structuredInText = structuredInText || (structured is { } json && SameJson(text.Text, json));
                    contents.Add(new TextContent(text.Text) { RawRepresentation = block });
                    break;
                case ImageContentBlock image:
                    contents.Add(Data(image.DecodedData, image.MimeType, null, block));
                    break;
                case AudioContentBlock audio:
                    contents.Add(Data(audio.DecodedData, audio.MimeType, null, block));
                    break;
                case EmbeddedResourceBlock { Resource: TextResourceContents resource }:
                    contents.Add(new TextContent(resource.Text) { RawRepresentation = block });
                    break;
                case EmbeddedResourceBlock { Resource: BlobResourceContents resource }:
                    contents.Add(Data(resource.DecodedData, resource.MimeType, resource.Uri, block));
                    break;
                case ResourceLinkBlock link:
                    contents.Add(new TextContent(LinkText(link)) { RawRepresentation = block });
                    break;
                default:
                    contents.Add(new TextContent(JsonSerializer.Serialize(block, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ContentBlock))))
                    {
                        RawRepresentation = block,
                    });
                    break;
            }
        }

        if (structured is { } value && !structuredInText)
        {
            contents.Add(new TextContent(value.GetRawText()) { RawRepresentation = value });
        }

        return contents;
    }

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

    private static DataContent Data(ReadOnlyMemory<byte> data, string? mediaType, string? name, object raw)
    {
        DataContent content;
        try
        {
            content = new DataContent(data, string.IsNullOrWhiteSpace(mediaType) ? OctetStream : mediaType);
        }
        catch (ArgumentException)
        {
            content = new DataContent(data, OctetStream);
        }

        content.Name = name;
        content.RawRepresentation = raw;
        return content;
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
