using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace AgentCore.Benchmarks;

/// <summary>Data the benchmarks load: typical messages, sessions and history lines.</summary>
internal static class Fixtures
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static SessionMessage Message(string sessionId, int i) => new()
    {
        Id = AgentCoreIds.NewMessageId(),
        SessionId = sessionId,
        Role = i % 2 == 0 ? ChatRole.User : ChatRole.Assistant,
        CreatedAt = Start.AddSeconds(i),
        CompletedAt = Start.AddSeconds(i + 1),
        Tokens = i % 2 == 0 ? default : new TokenUsage(1200, 300, 0, 800, 0),
        Cost = i % 2 == 0 ? 0 : 0.0123m,
        Parts =
        [
            new TextPart { Id = AgentCoreIds.NewPartId(), Text = "A typical message of a few sentences, about two hundred characters long, to give the load a realistic size per record. " + i },
        ],
    };

    public static SessionInfo Session(int i) => new()
    {
        Id = AgentCoreIds.NewSessionId(),
        Title = "Session number " + i,
        CreatedAt = Start.AddMinutes(i),
        UpdatedAt = Start.AddMinutes(i + 1),
        Tokens = new TokenUsage(10_000, 2_000, 0, 5_000, 100),
        Cost = 0.42m,
    };

    private const int Vocabulary = 5_000;
    private static readonly string[] Syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qui", "do", "fe", "gu", "ha", "ji"];

    /// <summary>Word <paramref name="i"/> (modulo 5 000) of a made-up vocabulary: three or four syllables, all distinct.</summary>
    public static string Word(int i)
    {
        int n = ((i % Vocabulary) + Vocabulary) % Vocabulary;
        var word = new StringBuilder();
        for (int s = 0; s < 4 && (s < 3 || n >= 4096); s++)
        {
            word.Append(Syllables[(n >> (4 * s)) & 15]);
        }

        return word.ToString();
    }

    /// <summary>A completed message of 25 words of the vocabulary (spread evenly over it), user and assistant in turn.</summary>
    public static SessionMessage WordsMessage(string sessionId, int i)
    {
        var text = new StringBuilder();
        var random = new Random(i);
        for (int w = 0; w < 25; w++)
        {
            text.Append(w == 0 ? "" : " ").Append(Word(random.Next(Vocabulary)));
        }

        var message = Message(sessionId, i);
        message.Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = text.ToString() }];
        return message;
    }

    /// <summary>Session <paramref name="i"/> of <paramref name="owners"/> owners (round robin), with an owner and a tenant in its metadata.</summary>
    public static SessionInfo OwnedSession(int i, int owners) => Session(i) with
    {
        Metadata = new Dictionary<string, string>
        {
            ["owner"] = "user-" + (i % owners).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["tenant"] = "tenant-" + (i % 7).ToString(System.Globalization.CultureInfo.InvariantCulture),
        },
    };

    /// <summary>Writes <paramref name="count"/> end entries in letta-code's shape, over 4 models and 30 days.</summary>
    public static async Task WriteHistoryAsync(string path, int count)
    {
        string[] models = ["claude-sonnet-4-5", "claude-haiku-4-5", "gpt-5", "gpt-5-mini"];
        await using var file = new StreamWriter(path, append: false, new UTF8Encoding(false), 1 << 20);
        for (int i = 0; i < count; i++)
        {
            var entry = new SessionHistoryEntry
            {
                AgentId = "agentcore",
                SessionId = "ses_" + i.ToString("x12", System.Globalization.CultureInfo.InvariantCulture),
                Timestamp = Start.AddMinutes(i % 43_200).ToUnixTimeMilliseconds(),
                Project = "/home/user/project",
                Model = models[i % models.Length],
                Provider = "anthropic",
                Usage = new HistoryUsage { PromptTokens = 12_000, CompletionTokens = 800, TotalTokens = 12_800, CachedInputTokens = 9_000, ReasoningTokens = 100, ContextTokens = 12_800, Steps = 3 },
                Duration = new HistoryDuration { ApiMs = 4_200, WallMs = 5_100 },
                Cost = new HistoryCost { Type = HistoryCost.Byok, UsdByok = 0.0345m },
                MessageCount = 12,
                ToolCallCount = 2,
                ExitReason = "completed",
            };
            await file.WriteLineAsync(JsonSerializer.Serialize(entry, AgentCoreJson.Options));
        }
    }
}
