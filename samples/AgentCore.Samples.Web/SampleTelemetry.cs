using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace AgentCore.Samples.Web;

/// <summary>
/// Exports AgentCore's traces and metrics (and those of Microsoft.Extensions.AI's <c>UseOpenTelemetry</c> clients)
/// over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; without it, nothing is collected. The exporter reads the
/// other standard variables itself (<c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>OTEL_EXPORTER_OTLP_HEADERS</c>,
/// <c>OTEL_SERVICE_NAME</c>, ...). See docs/observability.md.
/// </summary>
internal static class SampleTelemetry
{
    /// <summary>The source and meter name of Microsoft.Extensions.AI's OpenTelemetryChatClient, when built without a name of its own.</summary>
    private const string MicrosoftExtensionsAI = "Experimental.Microsoft.Extensions.AI";

    /// <summary>ASP.NET Core's own source: its request spans become the parents of AgentCore's turn spans.</summary>
    /// <remarks>
    /// Needed, not just nice: the default sampler follows the parent, and a request span nobody records would make
    /// every span below it, AgentCore's included, unrecorded too.
    /// </remarks>
    private const string AspNetCore = "Microsoft.AspNetCore";

    public static void AddSampleTelemetry(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            return;
        }

        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing
                .AddSource(AspNetCore, AgentCoreTelemetry.ActivitySourceName, MicrosoftExtensionsAI)
                .AddOtlpExporter())
            .WithMetrics(metrics => metrics
                .AddMeter(AgentCoreTelemetry.MeterName, MicrosoftExtensionsAI)
                .AddOtlpExporter());
    }
}
