using System.Text.Json;

using static AgentCore.Utf8JsonValues;

namespace AgentCore.Storage;

/// <summary>
/// Reads a stored session's JSON in one pass of a <see cref="Utf8JsonReader"/>, without the serializer's per-property
/// machinery: what listings spend most of their time on.
/// </summary>
/// <remarks>
/// It decides only what it reads exactly as <see cref="JsonSerializer"/> with the source-generated context would: the same
/// reader and <c>TryGet</c> conversions, the last of a repeated property winning, unknown properties skipped, a property
/// left out read as the serializer leaves it (null or zero: the source-generated reader sets every init-only property).
/// Anything else — a value of another type, a number out of range, a required property missing, a totals checkpoint,
/// metadata with a null or repeated key, trailing text, malformed JSON — answers <see langword="false"/>, and the caller
/// asks the serializer, which gives the session or the error it always gave.
/// </remarks>
internal static class SessionJsonReader
{
    /// <summary>Reads <paramref name="utf8Json"/>; false when the serializer must decide (see the remarks).</summary>
    public static bool TryRead(ReadOnlySpan<byte> utf8Json, out SessionInfo? session)
    {
        session = null;
        try
        {
            var reader = new Utf8JsonReader(utf8Json, isFinalBlock: true, state: default);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            string? id = null, parentId = null, title = null, revertedAfter = null;
            DateTimeOffset createdAt = default, updatedAt = default;
            bool hasId = false, hasTitle = false, hasCreatedAt = false, hasUpdatedAt = false;
            TokenUsage tokens = default;
            decimal cost = 0;
            Dictionary<string, string>? metadata = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool known;
                if (reader.ValueTextEquals("id"u8))
                {
                    known = hasId = ReadString(ref reader, out id);
                }
                else if (reader.ValueTextEquals("title"u8))
                {
                    known = hasTitle = ReadString(ref reader, out title);
                }
                else if (reader.ValueTextEquals("createdAt"u8))
                {
                    known = hasCreatedAt = reader.Read() && reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out createdAt);
                }
                else if (reader.ValueTextEquals("updatedAt"u8))
                {
                    known = hasUpdatedAt = reader.Read() && reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out updatedAt);
                }
                else if (reader.ValueTextEquals("parentId"u8))
                {
                    known = ReadString(ref reader, out parentId);
                }
                else if (reader.ValueTextEquals("revertedAfter"u8))
                {
                    known = ReadString(ref reader, out revertedAfter);
                }
                else if (reader.ValueTextEquals("tokens"u8))
                {
                    known = ReadTokens(ref reader, out tokens);
                }
                else if (reader.ValueTextEquals("cost"u8))
                {
                    known = ReadDecimal(ref reader, out cost);
                }
                else if (reader.ValueTextEquals("metadata"u8))
                {
                    known = ReadMetadata(ref reader, out metadata);
                }
                else if (reader.ValueTextEquals("totalsCheckpoint"u8))
                {
                    known = reader.Read() && reader.TokenType == JsonTokenType.Null;
                }
                else
                {
                    reader.Skip();
                    known = true;
                }

                if (!known)
                {
                    return false;
                }
            }

            // The object ends here, and only white space follows it; the required properties were all there.
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || !hasId || !hasTitle || !hasCreatedAt || !hasUpdatedAt)
            {
                return false;
            }

            session = new SessionInfo
            {
                Id = id!, ParentId = parentId, Title = title!, CreatedAt = createdAt, UpdatedAt = updatedAt, Tokens = tokens, Cost = cost,
                TotalsCheckpoint = null, Metadata = metadata!, RevertedAfter = revertedAfter,
            };
            return true;
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

    private static bool ReadMetadata(ref Utf8JsonReader reader, out Dictionary<string, string>? metadata)
    {
        metadata = null;
        if (!ReadNullOr(ref reader, JsonTokenType.StartObject, out bool isNull))
        {
            return false;
        }

        if (isNull)
        {
            return true;
        }

        metadata = [];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            if (!reader.Read() || reader.TokenType != JsonTokenType.String || !metadata.TryAdd(key, reader.GetString()!))
            {
                return false;
            }
        }

        return reader.TokenType == JsonTokenType.EndObject;
    }
}
