using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;
using NUnit.Framework;

namespace AgentCore.Tests.Tools.Mcp;

public sealed class McpToolResultsTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 1, 2, 3];
    private static readonly byte[] Wav = [0x52, 0x49, 0x46, 0x46, 9, 8];

    [Test]
    public void ToContents_TextBlocks_OneTextContentEach()
    {
        var result = new CallToolResult { Content = [new TextContentBlock { Text = "one" }, new TextContentBlock { Text = "two" }] };

        var contents = McpToolResults.ToContents(result, "srv_tool");

        contents.Should().HaveCount(2);
        contents.OfType<TextContent>().Select(t => t.Text).Should().Equal("one", "two");
    }

    [Test]
    public void ToContents_ImageAndAudio_DataContentWithMediaType()
    {
        var result = new CallToolResult { Content = [ImageContentBlock.FromBytes(Png, "image/png"), AudioContentBlock.FromBytes(Wav, "audio/wav")] };

        var contents = McpToolResults.ToContents(result, "srv_tool");

        var image = contents[0].Should().BeOfType<DataContent>().Subject;
        image.MediaType.Should().Be("image/png");
        image.Data.ToArray().Should().Equal(Png);
        var audio = contents[1].Should().BeOfType<DataContent>().Subject;
        audio.MediaType.Should().Be("audio/wav");
        audio.Data.ToArray().Should().Equal(Wav);
    }

    [Test]
    public void ToContents_ImageWithoutMediaType_OctetStream()
    {
        var result = new CallToolResult { Content = [new ImageContentBlock { Data = System.Text.Encoding.UTF8.GetBytes(Convert.ToBase64String(Png)), MimeType = "" }] };

        var contents = McpToolResults.ToContents(result, "srv_tool");

        contents[0].Should().BeOfType<DataContent>().Which.MediaType.Should().Be("application/octet-stream");
    }

    [Test]
    public void ToContents_EmbeddedResources_TextAsTextBlobAsNamedData()
    {
        var result = new CallToolResult
        {
            Content =
            [
                new EmbeddedResourceBlock { Resource = new TextResourceContents { Uri = "file:///notes.txt", Text = "the notes", MimeType = "text/plain" } },
                new EmbeddedResourceBlock { Resource = BlobResourceContents.FromBytes(Png, "file:///pic.png", "image/png") },
            ],
        };

        var contents = McpToolResults.ToContents(result, "srv_tool");

        contents[0].Should().BeOfType<TextContent>().Which.Text.Should().Be("the notes");
        var blob = contents[1].Should().BeOfType<DataContent>().Subject;
        blob.MediaType.Should().Be("image/png");
        blob.Name.Should().Be("file:///pic.png");
        blob.Data.ToArray().Should().Equal(Png);
    }

    [Test]
    public void ToContents_BlocksWithMeta_SdkConversionKeepsMetaAndTheBlock()
    {
        var meta = new System.Text.Json.Nodes.JsonObject { ["source"] = "cache" };
        var text = new TextContentBlock { Text = "hello", Meta = meta };
        var blob = new EmbeddedResourceBlock { Resource = BlobResourceContents.FromBytes(Png, "file:///pic.png", "image/png") };
        var result = new CallToolResult { Content = [text, blob] };

        var contents = McpToolResults.ToContents(result, "srv_tool");

        contents[0].RawRepresentation.Should().BeSameAs(text);
        contents[0].AdditionalProperties.Should().ContainKey("source");
        contents[1].RawRepresentation.Should().BeSameAs(blob);
        contents[1].Should().BeOfType<DataContent>().Which.Name.Should().Be("file:///pic.png");
    }

    [Test]
    public void ToContents_ResourceLink_TextNamingTheLink()
    {
        var result = new CallToolResult { Content = [new ResourceLinkBlock { Uri = "file:///big.csv", Name = "big.csv", MimeType = "text/csv" }] };

        var contents = McpToolResults.ToContents(result, "srv_tool");

        contents.Should().ContainSingle().Which.Should().BeOfType<TextContent>()
            .Which.Text.Should().Contain("big.csv").And.Contain("file:///big.csv").And.Contain("text/csv");
    }

    [Test]
    public void ToContents_StructuredContent_AddedAsJsonText()
    {
        var result = new CallToolResult
        {
            Content = [new TextContentBlock { Text = "Weather follows." }],
            StructuredContent = JsonDocument.Parse("""{"temperature":21.5,"city":"Oslo"}""").RootElement,
        };

        var contents = McpToolResults.ToContents(result, "srv_tool");

        contents.Should().HaveCount(2);
        var json = contents[1].Should().BeOfType<TextContent>().Subject.Text;
        JsonDocument.Parse(json).RootElement.GetProperty("city").GetString().Should().Be("Oslo");
    }

    [Test]
    public void ToContents_StructuredContentAlsoAsText_NotRepeated()
    {
        var result = new CallToolResult
        {
            Content = [new TextContentBlock { Text = """{ "city": "Oslo", "temperature": 21.5 }""" }],
            StructuredContent = JsonDocument.Parse("""{"temperature":21.5,"city":"Oslo"}""").RootElement,
        };

        var contents = McpToolResults.ToContents(result, "srv_tool");

        contents.Should().ContainSingle();
    }

    [Test]
    public void ToContents_ErrorResult_ThrowsToolExceptionWithItsText()
    {
        var result = new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = "File not found: a.txt" }] };

        var act = () => McpToolResults.ToContents(result, "files_read");

        act.Should().Throw<ToolException>().WithMessage("File not found: a.txt");
    }

    [Test]
    public void ToContents_ErrorResultWithoutText_ThrowsNamingTheTool()
    {
        var result = new CallToolResult { IsError = true, Content = [] };

        var act = () => McpToolResults.ToContents(result, "files_read");

        act.Should().Throw<ToolException>().Which.Message.Should().Contain("files_read");
    }

    [Test]
    public async Task InvokeAsync_ThroughInProcessServer_ConvertsEveryKind()
    {
        await using var server = new InProcessMcpServer()
            .AddTool("rich", _ => new CallToolResult
            {
                Content = [new TextContentBlock { Text = "caption" }, ImageContentBlock.FromBytes(Png, "image/png"), AudioContentBlock.FromBytes(Wav, "audio/wav")],
                StructuredContent = JsonDocument.Parse("""{"ok":true}""").RootElement,
            })
            .AddTool("broken", _ => new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = "it broke" }] });
        await using var provider = McpTestHost.Build(b => b.AddMcpServer("srv", new McpServerConfig { Command = "unused" }),
            new TestTransportFactory().Map("srv", server));
        var tools = await provider.GetRequiredService<IToolRegistry>().GetToolsAsync(McpTestHost.Context);

        var rich = await tools.Single(t => t.Name == "srv_rich").InvokeAsync(new AIFunctionArguments());
        var broken = () => tools.Single(t => t.Name == "srv_broken").InvokeAsync(new AIFunctionArguments()).AsTask();

        var contents = rich.Should().BeAssignableTo<IList<AIContent>>().Subject;
        contents.Select(c => c.GetType().Name).Should().Equal(nameof(TextContent), nameof(DataContent), nameof(DataContent), nameof(TextContent));
        ((DataContent)contents[1]).MediaType.Should().Be("image/png");
        ((DataContent)contents[2]).MediaType.Should().Be("audio/wav");
        ((TextContent)contents[3]).Text.Should().Be("""{"ok":true}""");
        (await broken.Should().ThrowAsync<ToolException>()).WithMessage("it broke");
    }
}
