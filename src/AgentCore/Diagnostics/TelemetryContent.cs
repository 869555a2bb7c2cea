using System.Buffers;
using System.Text;
using System.Text.Json;

namespace AgentCore;

/// <summary>
/// Message contents as the GenAI conventions' <c>gen_ai.input.messages</c> / <c>gen_ai.output.messages</c> JSON:
/// <c>[{"role":…,"parts":[{"type":"text","content":…},{"type":"tool_call","id":…,"name":…,"arguments":…}],"finish_reason":…}]</c>.
/// Written only when the app opts in (<see cref="AgentCoreOptions.EnableSensitiveTelemetryData"/>). File parts are left
/// out: their bytes do not belong on a span.
/// </summary>
internal static class TelemetryContent
{
    public static string Messages(string role, IEnumerable<MessagePart> parts, string? finishReason)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            writer.WriteStartObject();
            writer.WriteString("role", role);
            writer.WriteStartArray("parts");
            foreach (var part in parts)
            {
                switch (part)
                {
                    case TextPart text:
                        WriteTextPart(writer, "text", text.Text);
                        break;
                    case ReasoningPart reasoning:
                        WriteTextPart(writer, "reasoning", reasoning.Text);
                        break;
                    case ToolPart tool:
                        writer.WriteStartObject();
                        writer.WriteString("type", "tool_call");
                        writer.WriteString("id", tool.CallId);
                        writer.WriteString("name", tool.ToolName);
                        if (tool.Arguments is { } arguments)
                        {
                            writer.WritePropertyName("arguments");
                            arguments.WriteTo(writer);
                        }

                        writer.WriteEndObject();
                        break;
                }
            }

            writer.WriteEndArray();
            if (role == "assistant")
            {
                writer.WriteString("finish_reason", FinishReason(finishReason));
            }

            writer.WriteEndObject();
            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A tool call's arguments as compact JSON (the stored form may be indented), or the raw text that did not parse.</summary>
    public static string? Arguments(ToolPart part)
    {
        if (part.Arguments is not { } arguments)
        {
            return part.RawArguments;
        }

        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            arguments.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteTextPart(Utf8JsonWriter writer, string type, string text)
    {
        writer.WriteStartObject();
        writer.WriteString("type", type);
        writer.WriteString("content", text);
        writer.WriteEndObject();
    }

    /// <summary>Microsoft.Extensions.AI's finish reasons in the conventions' spelling.</summary>
    private static string FinishReason(string? reason) => reason switch
    {
        "length" => "length",
        "content_filter" => "content_filter",
        "tool_calls" => "tool_call",
        _ => "stop",
    };
}
