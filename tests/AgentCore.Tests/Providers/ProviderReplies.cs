using System.Globalization;
using System.Text.Json;

namespace AgentCore.Tests.Providers;

/// <summary>The streamed bodies the OpenAI and Anthropic APIs answer a chat request with, as their SDKs parse them.</summary>
internal static class ProviderReplies
{
    /// <summary>An OpenAI chat-completions stream: the text, a stop, the usage, <c>[DONE]</c>.</summary>
    public static IEnumerable<(string? Event, string Data)> OpenAiText(string text, int input, int output)
    {
        const string Head = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"m\"";
        yield return (null, Head + ""","choices":[{"index":0,"delta":{"role":"assistant","content":""" + Json(text) + """},"finish_reason":null}]}""");
        yield return (null, Head + ""","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""");
        yield return (null, Head + ""","choices":[],"usage":{"prompt_tokens":""" + Number(input) + ""","completion_tokens":""" + Number(output)
                            + ""","total_tokens":""" + Number(input + output) + "}}");
        yield return (null, "[DONE]");
    }

    /// <summary>An OpenAI error body.</summary>
    public static string OpenAiError(string message) =>
        """{"error":{"message":""" + Json(message) + ""","type":"rate_limit_error","code":null}}""";

    /// <summary>An Anthropic messages stream with one text block.</summary>
    public static IEnumerable<(string? Event, string Data)> AnthropicText(string text, int input, int output)
    {
        yield return ("message_start", """{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":"""
                                       + Number(input) + ""","output_tokens":1}}}""");
        yield return ("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""");
        yield return ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""" + Json(text) + "}}");
        yield return ("content_block_stop", """{"type":"content_block_stop","index":0}""");
        yield return ("message_delta", """{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":""" + Number(output) + "}}");
        yield return ("message_stop", """{"type":"message_stop"}""");
    }

    /// <summary>An Anthropic error body.</summary>
    public static string AnthropicError(string type, string message) =>
        """{"type":"error","error":{"type":""" + Json(type) + ""","message":""" + Json(message) + "}}";

    private static string Json(string value) => JsonSerializer.Serialize(value);

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
}
