using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.ML.Tokenizers;

namespace AgentCore;

/// <summary>
/// Token counts for compaction's estimates, in OpenAI's <c>o200k_base</c> encoding (Microsoft.ML.Tokenizers). The
/// vocabulary is loaded once, on first use, so a process that never compacts never pays for it. Models with other
/// tokenizers differ somewhat, but far less than a characters-per-token ratio does on JSON or non-Latin text. See
/// <c>docs/compaction.md</c>.
/// </summary>
internal static class TokenEstimator
{
    /// <summary>What content that is not text (an image, a file) counts for: a fixed allowance.</summary>
    public const int NonTextContentTokens = 256;

    /// <summary>Tool-call arguments as providers send them: compact JSON (M.E.AI's defaults indent).</summary>
    private static readonly JsonSerializerOptions CompactJson = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };

    private static readonly Lazy<Tokenizer> Encoding = new(
        static () => TiktokenTokenizer.CreateForEncoding("o200k_base"), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The tokens of <paramref name="text"/>.</summary>
    public static int Count(string? text) => string.IsNullOrEmpty(text) ? 0 : Encoding.Value.CountTokens(text);

    /// <summary>The tokens of the contents of <paramref name="messages"/>: text, tool calls with their arguments, tool results.</summary>
    public static long Count(IEnumerable<ChatMessage> messages)
    {
        long tokens = 0;
        foreach (var message in messages)
        {
            foreach (var content in message.Contents)
            {
                tokens += content switch
                {
                    TextContent t => Count(t.Text),
                    FunctionCallContent c => Count(c.Name) + Count(JsonSerializer.Serialize(c.Arguments, CompactJson)),
                    FunctionResultContent { Result: string s } => Count(s),
                    FunctionResultContent { Result: IEnumerable<AIContent> items } =>
                        items.OfType<TextContent>().Sum(static t => (long)Count(t.Text)) + NonTextContentTokens,
                    _ => NonTextContentTokens,
                };
            }
        }

        return tokens;
    }
}
