using System.ClientModel;
using System.Collections;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Reflection;

namespace AgentCore;

/// <summary>Reads what a failed model call's exception says: its status, whether to retry, and when.</summary>
/// <remarks>
/// Provider SDKs expose different exception types; this reads the common shapes: <see cref="HttpRequestException.StatusCode"/>,
/// System.ClientModel's <see cref="ClientResultException"/> (the OpenAI and Azure SDKs: its status and the headers of
/// <see cref="ClientResultException.GetRawResponse"/>), a public <c>StatusCode</c> or <c>Status</c> property, response
/// headers on a <c>Headers</c> or <c>Response</c> property, and <see cref="Exception.Data"/> entries named like the headers.
/// </remarks>
internal static class ModelErrors
{
    private static readonly string[] OverflowPhrases =
    [
        "context_length_exceeded",          // OpenAI error code
        "maximum context length",           // OpenAI, vLLM
        "context window",                   // generic
        "prompt is too long",               // Anthropic
        "input is too long",                // Anthropic (Bedrock), generic
        "too many tokens",                  // generic
        "exceeds the context",              // llama.cpp "the request exceeds the available context size"
        "exceed context",                   // llama.cpp older wording
        "context size",                     // llama.cpp
        "input token count",                // Google Gemini "The input token count (…) exceeds the maximum"
        "exceeds the maximum number of tokens", // Google
        "context length",                   // Ollama / vLLM "… longer than the model's context length"
        "reduce the length of the messages", // OpenAI
        "request too large",                // 413 wordings
    ];

    /// <summary>The longest delay read from a header (beyond any sane <see cref="AgentCoreOptions.MaxRetryDelay"/>); larger values are cut to it.</summary>
    private static readonly TimeSpan LongestDelay = TimeSpan.FromDays(365);

    /// <summary>The HTTP status code the exception carries, if any.</summary>
    public static int? StatusCode(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { StatusCode: { } code })
            {
                return (int)code;
            }

            if (e is ClientResultException { Status: >= 100 and <= 599 } result)
            {
                return result.Status;
            }

            if (ReadProperty(e, "StatusCode") is { } status && ToStatus(status) is { } a)
            {
                return a;
            }

            if (ReadProperty(e, "Status") is { } other && ToStatus(other) is { } b)
            {
                return b;
            }
        }

        return null;
    }

    /// <summary>Whether the provider said the prompt does not fit the context window.</summary>
    public static bool IsContextOverflow(Exception exception)
    {
        if (StatusCode(exception) == 413)
        {
            return true;
        }

        for (var e = exception; e is not null; e = e.InnerException)
        {
            foreach (string phrase in OverflowPhrases)
            {
                if (e.Message.Contains(phrase, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Whether a retry may succeed: HTTP 408, 409, 429 and 5xx, network and I/O errors, time-outs.</summary>
    public static bool IsTransient(Exception exception, CancellationToken turnToken)
    {
        if (turnToken.IsCancellationRequested || IsContextOverflow(exception))
        {
            return false;
        }

        if (StatusCode(exception) is { } status)
        {
            return status is 408 or 409 or 429 or >= 500 and <= 599;
        }

        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case HttpRequestException:          // no status: the connection failed
                case IOException:
                case TimeoutException:
                case OperationCanceledException:    // not the turn's token: an HTTP client time-out
                    return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether the failure comes from an SDK that has already retried it itself, honouring the server's
    /// <c>retry-after-ms</c> / <c>Retry-After</c>, and that hides those headers from its exception: Anthropic's
    /// (<c>Anthropic.Exceptions.AnthropicApiException</c> and <c>AnthropicIOException</c>, whose retries are set by the
    /// client's <c>MaxRetries</c>). AgentCore does not retry such a failure again: it could only wait less than the
    /// server asked, and the attempts would multiply.
    /// </summary>
    public static bool RetriedBySdk(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            for (var type = e.GetType(); type is not null && type != typeof(Exception); type = type.BaseType)
            {
                if (type.FullName is "Anthropic.Exceptions.AnthropicApiException" or "Anthropic.Exceptions.AnthropicIOException")
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>How long the provider asked to wait (<c>retry-after-ms</c> or <c>Retry-After</c>), if it said.</summary>
    public static TimeSpan? RetryAfter(Exception exception, DateTimeOffset now)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (Header(e, "retry-after-ms") is { } ms &&
                double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out double milliseconds) && milliseconds >= 0)
            {
                return milliseconds >= LongestDelay.TotalMilliseconds ? LongestDelay : TimeSpan.FromMilliseconds(milliseconds);
            }

            if (Header(e, "Retry-After") is { } after)
            {
                if (double.TryParse(after, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds >= 0)
                {
                    return seconds >= LongestDelay.TotalSeconds ? LongestDelay : TimeSpan.FromSeconds(seconds);
                }

                if (DateTimeOffset.TryParse(after, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                {
                    return at > now ? at - now : TimeSpan.Zero;
                }
            }
        }

        return null;
    }

    private static string? Header(Exception e, string name)
    {
        if (e is ClientResultException result)
        {
            return result.GetRawResponse() is { } raw && raw.Headers.TryGetValue(name, out string? value) ? value : null;
        }

        foreach (DictionaryEntry entry in e.Data)
        {
            if (entry.Key is string key && key.Equals(name, StringComparison.OrdinalIgnoreCase) && entry.Value is not null)
            {
                return Convert.ToString(entry.Value, CultureInfo.InvariantCulture);
            }
        }

        object? headers = ReadProperty(e, "Headers")
                          ?? (ReadProperty(e, "Response") is { } response ? ReadProperty(response, "Headers") : null);
        return headers switch
        {
            HttpHeaders http => http.TryGetValues(name, out var values) ? values.FirstOrDefault() : null,
            IEnumerable<KeyValuePair<string, IEnumerable<string>>> pairs =>
                pairs.FirstOrDefault(p => p.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault(),
            IEnumerable<KeyValuePair<string, string>> flat =>
                flat.FirstOrDefault(p => p.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value,
            _ => null,
        };
    }

    private static object? ReadProperty(object target, string name)
    {
        try
        {
            return target.GetType().GetProperty(name, BindingFlags.Public | BindingFlags.Instance)?.GetValue(target);
        }
        catch (TargetInvocationException)
        {
            return null;
        }
    }

    private static int? ToStatus(object value) => value switch
    {
        HttpStatusCode code => (int)code,
        int i when i is >= 100 and <= 599 => i,
        _ => null,
    };
}
