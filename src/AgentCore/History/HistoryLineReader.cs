using System.Text.Json;

using static AgentCore.Utf8JsonValues;

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
                    known = ReadInt64(ref reader, out timestamp);
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
        if (!ReadNullOr(ref reader, JsonTokenType.StartObject, out bool isNull))
        {
            return false;
        }

        if (isNull)
        {
            return true;
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
                known = ReadInt32(ref reader, out steps);
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
        if (!ReadNullOr(ref reader, JsonTokenType.StartObject, out bool isNull))
        {
            return false;
        }

        if (isNull)
        {
            return true;
        }

        double api = 0, wall = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool known = true;
            if (reader.ValueTextEquals("api_ms"u8))
            {
                known = ReadDouble(ref reader, out api);
            }
            else if (reader.ValueTextEquals("wall_ms"u8))
            {
                known = ReadDouble(ref reader, out wall);
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
        if (!ReadNullOr(ref reader, JsonTokenType.StartObject, out bool isNull))
        {
            return false;
        }

        if (isNull)
        {
            return true;
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
}
