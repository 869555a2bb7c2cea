using AgentCore.Tests.Shared;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Samples.Web.Tests;

/// <summary>With <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set, the sample exports AgentCore's spans and metrics over OTLP.</summary>
[TestFixture]
public sealed class TelemetryExportTests
{
    private static readonly TimeSpan ExportTimeout = TimeSpan.FromSeconds(60);

    [Test]
    public async Task Chat_OtlpEndpointConfigured_ExportsTheTurnSpanAndTheTokenMetric()
    {
        // An OTLP/HTTP endpoint that answers every export with 200.
        await using var collector = (await LocalHttpServer.StartAsync()).Otherwise(static context =>
        {
            context.Response.ContentType = "application/x-protobuf";
            return Task.CompletedTask;
        });
        var exports = ExportsAsync(collector);
        await using var server = await SampleServer.StartAsync(TimeSpan.Zero, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.BaseAddress.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        });
        var session = await server.Client.CreateSessionAsync();

        await server.Client.ChatAsync(session.Id(), "hello telemetry");

        // Protobuf keeps strings as UTF-8: the span's attributes carry the session id as gen_ai.conversation.id.
        var (exportedTrace, exportedMetrics) = await exports.WaitAsync(ExportTimeout);
        exportedTrace.Should().Contain("gen_ai.conversation.id").And.Contain(session.Id());
        exportedTrace.Should().NotContain("hello telemetry", "contents are not exported unless the app opts in");
        exportedMetrics.Should().Contain("gen_ai.client.token.usage");
    }

    /// <summary>
    /// Reads the collector's requests until the first trace export that has the turn's span and the first metrics export
    /// that has the turn counter have arrived, and returns their bodies.
    /// </summary>
    private static async Task<(string Trace, string Metrics)> ExportsAsync(LocalHttpServer collector)
    {
        string? trace = null, metrics = null;
        await foreach (var request in collector.Arrivals.ReadAllAsync())
        {
            if (trace is null && request.Path == "/v1/traces" && request.Body.Contains("invoke_agent", StringComparison.Ordinal))
            {
                trace = request.Body;
            }

            // The turn counter is recorded last when a turn ends: an export that has it has the turn's token usage too.
            if (metrics is null && request.Path == "/v1/metrics" && request.Body.Contains("agentcore.turns", StringComparison.Ordinal))
            {
                metrics = request.Body;
            }

            if (trace is not null && metrics is not null)
            {
                return (trace, metrics);
            }
        }

        throw new InvalidOperationException("The collector stopped before both exports arrived.");
    }
}
