namespace AgentCore;

/// <summary>
/// Accumulates the usage and timing of a turn, step by step, for its <see cref="SessionHistoryEntry"/>.
/// </summary>
/// <remarks>
/// Token counts add up over steps, except the context size, which is the latest step's (the size of the
/// context now, not a sum). Times come from the injected <see cref="TimeProvider"/>: wall time from creation,
/// API time as the sum of the measured model calls.
/// </remarks>
internal sealed class SessionStats
{
    private readonly TimeProvider _time;
    private readonly long _startedAt;
    private TimeSpan _api;

    public SessionStats(TimeProvider time)
    {
        _time = time;
        _startedAt = time.GetTimestamp();
    }

    /// <summary>All tokens of every step recorded.</summary>
    public TokenUsage Usage { get; private set; }

    /// <summary>The context size at the latest step: its input (cached included) and output.</summary>
    public long? ContextTokens { get; private set; }

    /// <summary>Steps (model calls) recorded.</summary>
    public int Steps { get; private set; }

    /// <summary>Time spent in model calls.</summary>
    public TimeSpan ApiTime => _api;

    /// <summary>Time since the stats were created.</summary>
    public TimeSpan WallTime => _time.GetElapsedTime(_startedAt);

    /// <summary>Starts timing a model call; pass the result to <see cref="RecordStep"/>.</summary>
    public long StartApiCall() => _time.GetTimestamp();

    /// <summary>Records one step: its usage and the model call that started at <paramref name="apiCallStartedAt"/>.</summary>
    public void RecordStep(TokenUsage usage, long apiCallStartedAt)
    {
        _api += _time.GetElapsedTime(apiCallStartedAt);
        Usage += usage;
        ContextTokens = usage.Total;
        Steps++;
    }

    /// <summary>The usage object of a history entry.</summary>
    public HistoryUsage ToHistoryUsage() => HistoryUsageOf(Usage, ContextTokens, Steps);

    /// <summary>The usage object of a history entry for <paramref name="usage"/> over <paramref name="steps"/> steps.</summary>
    public static HistoryUsage HistoryUsageOf(TokenUsage usage, long? contextTokens, int steps) => new()
    {
        PromptTokens = usage.TotalInput,
        CompletionTokens = usage.Output,
        TotalTokens = usage.Total,
        CachedInputTokens = usage.CacheRead,
        CacheWriteTokens = usage.CacheWrite,
        ReasoningTokens = usage.Reasoning,
        ContextTokens = contextTokens,
        Steps = steps,
    };

    /// <summary>The duration object of a history entry, in whole milliseconds.</summary>
    public HistoryDuration ToHistoryDuration() => new()
    {
        ApiMs = Math.Round(ApiTime.TotalMilliseconds),
        WallMs = Math.Round(WallTime.TotalMilliseconds),
    };
}
