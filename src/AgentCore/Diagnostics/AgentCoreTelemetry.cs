namespace AgentCore;

/// <summary>
/// The names under which AgentCore emits traces and metrics, following the OpenTelemetry semantic conventions for
/// generative AI: one <see cref="System.Diagnostics.ActivitySource"/> and one <see cref="System.Diagnostics.Metrics.Meter"/>,
/// both named <c>AgentCore</c>. Subscribe with OpenTelemetry's <c>AddSource(AgentCoreTelemetry.ActivitySourceName)</c>
/// and <c>AddMeter(AgentCoreTelemetry.MeterName)</c>; see <c>docs/observability.md</c> for every span, attribute and
/// instrument.
/// </summary>
/// <remarks>
/// Spans: <c>invoke_agent</c> per turn, <c>execute_tool {tool name}</c> per tool call, <c>agentcore.compaction</c>
/// and <c>agentcore.title</c> for the model calls that summarize a session and name it. Metrics:
/// <see cref="TokenUsageInstrument"/>, <see cref="OperationDurationInstrument"/>, <see cref="TurnsInstrument"/>,
/// <see cref="ToolCallsInstrument"/> and <see cref="CostInstrument"/>. Message contents (prompts, replies, tool
/// arguments and results, titles, summaries) are recorded only when
/// <see cref="AgentCoreOptions.EnableSensitiveTelemetryData"/> is set.
/// </remarks>
public static class AgentCoreTelemetry
{
    /// <summary>The name of AgentCore's <see cref="System.Diagnostics.ActivitySource"/>: <c>AgentCore</c>.</summary>
    public const string ActivitySourceName = "AgentCore";

    /// <summary>The name of AgentCore's <see cref="System.Diagnostics.Metrics.Meter"/>: <c>AgentCore</c>.</summary>
    public const string MeterName = "AgentCore";

    /// <summary>
    /// The histogram of tokens per operation (<c>{token}</c>), tagged <c>gen_ai.token.type</c> = <c>input</c>
    /// (uncached, cache-read and cache-write input together) or <c>output</c>: <c>gen_ai.client.token.usage</c>.
    /// </summary>
    public const string TokenUsageInstrument = "gen_ai.client.token.usage";

    /// <summary>The histogram of operation durations in seconds: <c>gen_ai.client.operation.duration</c>.</summary>
    public const string OperationDurationInstrument = "gen_ai.client.operation.duration";

    /// <summary>The counter of finished turns (<c>{turn}</c>), tagged <c>agentcore.exit_reason</c>: <c>agentcore.turns</c>.</summary>
    public const string TurnsInstrument = "agentcore.turns";

    /// <summary>
    /// The counter of tool calls run (<c>{call}</c>), tagged <c>gen_ai.tool.name</c> and <c>agentcore.tool.outcome</c>
    /// (<c>completed</c>, <c>error</c> or <c>aborted</c>): <c>agentcore.tool.calls</c>.
    /// </summary>
    public const string ToolCallsInstrument = "agentcore.tool.calls";

    /// <summary>
    /// The counter of the cost, in US dollars (<c>{USD}</c>), of turns and compactions — the amounts added to
    /// <see cref="SessionInfo.Cost"/>: <c>agentcore.cost</c>.
    /// </summary>
    public const string CostInstrument = "agentcore.cost";
}
