using System.Text;
using System.Text.Json;

namespace AgentCore;

/// <summary>
/// Reads one <c>sessions.jsonl</c> line into a <see cref="SessionHistoryEntry"/> in one pass of a
/// <see cref="Utf8JsonReader"/>, without the serializer's per-property machinery, sharing the strings that repeat from
/// line to line (agent, project, model, provider, cost type, exit reason). Not thread-safe: one per reading thread.
/// </summary>
/// <remarks>
/// It decides only what it reads exactly as <see cref="JsonSerializer"/> with the source-generated context would (the
/// same reader, the same <c>TryGet</c> conversions, the last of a repeated property winning, unknown properties skipped):
/// anything else (a value of the wrong type, a number out of range, a top-level value that is not an object, trailing
/// text, malformed JSON) answers <see langword="false"/>, and the caller falls back to the serializer, which gives the
/// entry or the error it always gave. Results are therefore identical to the serializer's.
/// </remarks>
internal sealed class HistoryLineReader
{
    private readonly Utf8StringCache _agents = new();
    private readonly Utf8StringCache _projects = new();
    private readonly Utf8StringCache _models = new();
    private readonly Utf8StringCache _providers = new();
    private readonly Utf8StringCache _costTypes = new();
    private readonly Utf8StringCache _exitReasons = new();

    /// <summary>Reads <paramref name="line"/>; false when the serializer must decide (see the remarks).</summary>
    public bool TryRead(ReadOnlySpan<byte> line, out SessionHistoryEntry? entry)
    {
        entry = null;
        try
        {
            var reader = new Utf8JsonReader(line, isFinalBlock: true, state: default);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            string? agentId = "", sessionId = "", project = "", model = "", provider = "", exitReason = null;
            long timestamp = 0;
            int? messageCount = null, toolCallCount = null;
            HistoryUsage? usage = HistoryUsage.Empty;
            HistoryDuration? duration = HistoryDuration.Empty;
            HistoryCost? cost = HistoryCost.Empty;
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    // Only white space may follow the object.
                    if (reader.Read())
                    {
                        return false;
                    }

                    entry = new SessionHistoryEntry
                    {
                        AgentId = agentId!, SessionId = sessionId!, Timestamp = timestamp, Project = project!, Model = model!,
                        Provider = provider!, Usage = usage!, Duration = duration!, Cost = cost!,
                        MessageCount = messageCount, ToolCallCount = toolCallCount, ExitReason = exitReason,
                    };
                    return true;
                }

                // A property name, then its value.
                bool known = true;
                if (reader.ValueTextEquals("agent_id"u8))
                {
                    known = ReadString(ref reader, _agents, out agentId);
                }
                else if (reader.ValueTextEquals("session_id"u8))
                {
                    known = ReadString(ref reader, cache: null, out sessionId);
                }
                else if (reader.ValueTextEquals("timestamp"u8))
                {
                    known = reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out timestamp);
                }
                else if (reader.ValueTextEquals("project"u8))
                {
                    known = ReadString(ref reader, _projects, out project);
                }
                else if (reader.ValueTextEquals("model"u8))
                {
                    known = ReadString(ref reader, _models, out model);
                }
                else if (reader.ValueTextEquals("provider"u8))
                {
                    known = ReadString(ref reader, _providers, out provider);
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    known = ReadUsage(ref reader, out usage);
                }
                else if (reader.ValueTextEquals("duration"u8))
                {
                    known = ReadDuration(ref reader, out duration);
                }
                else if (reader.ValueTextEquals("cost"u8))
                {
                    known = ReadCost(ref reader, out cost);
                }
                else if (reader.ValueTextEquals("message_count"u8))
                {
                    known = ReadNullableInt32(ref reader, out messageCount);
                }
                else if (reader.ValueTextEquals("tool_call_count"u8))
                {
                    known = ReadNullableInt32(ref reader, out toolCallCount);
                }
                else if (reader.ValueTextEquals("exit_reason"u8))
                {
                    known = ReadString(ref reader, _exitReasons, out exitReason);
                }
                else
                {
                    reader.Skip();
                }

                if (!known)
                {
                    return false;
                }
            }

            return false;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool ReadUsage(ref Utf8JsonReader reader, out HistoryUsage? usage)
    {
        usage = null;
        if (!reader.Read())
        {
            return false;
        }

        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        long prompt = 0, completion = 0, total = 0, cached = 0, cacheWrite = 0, reasoning = 0;
        long? context = null;
        int steps = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool known = true;
            if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                known = ReadInt64(ref reader, out prompt);
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                known = ReadInt64(ref reader, out completion);
            }
            else if (reader.ValueTextEquals("total_tokens"u8))
            {
                known = ReadInt64(ref reader, out total);
            }
            else if (reader.ValueTextEquals("cached_input_tokens"u8))
            {
                known = ReadInt64(ref reader, out cached);
            }
            else if (reader.ValueTextEquals("cache_write_tokens"u8))
            {
                known = ReadInt64(ref reader, out cacheWrite);
            }
            else if (reader.ValueTextEquals("reasoning_tokens"u8))
            {
                known = ReadInt64(ref reader, out reasoning);
            }
            else if (reader.ValueTextEquals("context_tokens"u8))
            {
                known = ReadNullableInt64(ref reader, out context);
            }
            else if (reader.ValueTextEquals("steps"u8))
            {
                known = reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out steps);
            }
            else
            {
                reader.Skip();
            }

            if (!known)
            {
                return false;
            }
        }

        usage = new HistoryUsage
        {
            PromptTokens = prompt, CompletionTokens = completion, TotalTokens = total, CachedInputTokens = cached,
            CacheWriteTokens = cacheWrite, ReasoningTokens = reasoning, ContextTokens = context, Steps = steps,
        };
        return reader.TokenType == JsonTokenType.EndObject;
    }

    private static bool ReadDuration(ref Utf8JsonReader reader, out HistoryDuration? duration)
    {
        duration = null;
        if (!reader.Read())
        {
            return false;
        }

        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        double api = 0, wall = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool known = true;
            if (reader.ValueTextEquals("api_ms"u8))
            {
                known = reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out api);
            }
            else if (reader.ValueTextEquals("wall_ms"u8))
            {
                known = reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out wall);
            }
            else
            {
                reader.Skip();
            }

            if (!known)
            {
                return false;
            }
        }

        duration = new HistoryDuration { ApiMs = api, WallMs = wall };
        return reader.TokenType == JsonTokenType.EndObject;
    }

    private bool ReadCost(ref Utf8JsonReader reader, out HistoryCost? cost)
    {
        cost = null;
        if (!reader.Read())
        {
            return false;
        }

        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        // As the serializer reads it: a cost object without a type has none (null), not the record's default.
        string? type = null;
        decimal? credits = null, usd = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool known = true;
            if (reader.ValueTextEquals("type"u8))
            {
                known = ReadString(ref reader, _costTypes, out type);
            }
            else if (reader.ValueTextEquals("credits_used"u8))
            {
                known = ReadNullableDecimal(ref reader, out credits);
            }
            else if (reader.ValueTextEquals("usd_byok"u8))
            {
                known = ReadNullableDecimal(ref reader, out usd);
            }
            else
            {
                reader.Skip();
            }

            if (!known)
            {
                return false;
            }
        }

        cost = new HistoryCost { Type = type!, CreditsUsed = credits, UsdByok = usd };
        return reader.TokenType == JsonTokenType.EndObject;
    }

    private static bool ReadString(ref Utf8JsonReader reader, Utf8StringCache? cache, out string? value)
    {
        value = null;
        if (!reader.Read())
        {
            return false;
        }

        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            return false;
        }

        value = cache is not null && !reader.ValueIsEscaped && !reader.HasValueSequence
            ? cache.Get(reader.ValueSpan)
            : reader.GetString();
        return true;
    }

    private static bool ReadInt64(ref Utf8JsonReader reader, out long value)
    {
        value = 0;
        return reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out value);
    }

    private static bool ReadNullableInt64(ref Utf8JsonReader reader, out long? value)
    {
        value = null;
        if (!reader.Read())
        {
            return false;
        }

        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long number))
        {
            value = number;
            return true;
        }

        return false;
    }

    private static bool ReadNullableInt32(ref Utf8JsonReader reader, out int? value)
    {
        value = null;
        if (!reader.Read())
        {
            return false;
        }

        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int number))
        {
            value = number;
            return true;
        }

        return false;
    }

    private static bool ReadNullableDecimal(ref Utf8JsonReader reader, out decimal? value)
    {
        value = null;
        if (!reader.Read())
        {
            return false;
        }

        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType == JsonTokenType.Number && reader.TryGetDecimal(out decimal number))
        {
            value = number;
            return true;
        }

        return false;
    }

    /// <summary>The last few distinct strings a field held, found by their UTF-8 bytes.</summary>
    private sealed class Utf8StringCache
    {
        private const int Slots = 8;
        private readonly byte[][] _bytes = new byte[Slots][];
        private readonly string[] _strings = new string[Slots];
        private int _next;

        /// <summary>The string of <paramref name="utf8"/> (unescaped JSON string bytes): a remembered one, or decoded (and remembered).</summary>
        /// <exception cref="InvalidOperationException">The bytes are not valid UTF-8 (as <see cref="Utf8JsonReader.GetString"/> throws).</exception>
        public string Get(ReadOnlySpan<byte> utf8)
        {
            for (int i = 0; i < Slots; i++)
            {
                if (_bytes[i] is { } known && utf8.SequenceEqual(known))
                {
                    return _strings[i];
                }
            }

            if (utf8.Length > 256)
            {
                return Decode(utf8);
            }

            string value = Decode(utf8);
            _bytes[_next] = utf8.ToArray();
            _strings[_next] = value;
            _next = (_next + 1) % Slots;
            return value;
        }

        private static string Decode(ReadOnlySpan<byte> utf8)
        {
            try
            {
                return Strict.GetString(utf8);
            }
            catch (DecoderFallbackException ex)
            {
                throw new InvalidOperationException("The string is not valid UTF-8.", ex);
            }
        }

        private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    }
}
