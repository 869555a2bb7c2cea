using System.Collections.ObjectModel;
using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace AgentCore.Tests.Diagnostics;

/// <summary>
/// An OpenTelemetry tracer and meter provider, as an app sets them up (<c>AddSource</c>, <c>AddMeter</c>), exporting
/// to memory. Every provider sees every AgentCore span and measurement of the process, so tests pick theirs: spans by
/// the turn's trace, measurements by a model id no other test uses.
/// </summary>
internal sealed class TelemetryCapture : IDisposable
{
    private readonly LockedCollection<Activity> _activities = new();
    private readonly LockedCollection<MetricSnapshot> _metrics = new();
    private readonly TracerProvider _tracing;
    private readonly MeterProvider _meters;

    public TelemetryCapture(params string[] extraSources)
    {
        _tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(AgentCoreTelemetry.ActivitySourceName)
            .AddSource(extraSources)
            .AddInMemoryExporter(_activities)
            .Build();
        _meters = Sdk.CreateMeterProviderBuilder()
            .AddMeter(AgentCoreTelemetry.MeterName)
            .AddInMemoryExporter(_metrics)
            .Build();
    }

    /// <summary>The <c>invoke_agent</c> span of the session's only turn.</summary>
    public Activity Turn(string sessionId) =>
        Spans().Should().ContainSingle(a => a.OperationName == "invoke_agent" && (string?)a.GetTagItem("gen_ai.conversation.id") == sessionId).Subject;

    /// <summary>Every finished span of <paramref name="trace"/>'s trace, the turn's own included.</summary>
    public List<Activity> SpansOf(Activity trace) => Spans().Where(a => a.TraceId == trace.TraceId).ToList();

    public List<Activity> Spans() => _activities.Snapshot();

    /// <summary>The points of instrument <paramref name="name"/> recorded for <paramref name="model"/>, as of now.</summary>
    public List<MetricPoint> Points(string name, string model)
    {
        _meters.ForceFlush();
        // Cumulative: the latest export of an instrument holds everything recorded so far.
        var latest = _metrics.Snapshot().LastOrDefault(m => m.Name == name);
        if (latest is null)
        {
            return [];
        }

        return latest.MetricPoints.Where(p => Tag(p, "gen_ai.request.model") as string == model).ToList();
    }

    public MetricSnapshot Instrument(string name)
    {
        _meters.ForceFlush();
        return _metrics.Snapshot().Last(m => m.Name == name);
    }

    public static object? Tag(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key)
            {
                return tag.Value;
            }
        }

        return null;
    }

    public void Dispose()
    {
        _tracing.Dispose();
        _meters.Dispose();
    }

    /// <summary>Exporters add from whichever thread ends a span; tests read snapshots.</summary>
    private sealed class LockedCollection<T> : Collection<T>
    {
        private readonly Lock _gate = new();

        public List<T> Snapshot()
        {
            lock (_gate)
            {
                return [.. this];
            }
        }

        protected override void InsertItem(int index, T item)
        {
            lock (_gate)
            {
                base.InsertItem(index, item);
            }
        }

        protected override void ClearItems()
        {
            lock (_gate)
            {
                base.ClearItems();
            }
        }
    }
}
