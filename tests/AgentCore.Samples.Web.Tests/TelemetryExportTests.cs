using System.Net;
using System.Net.Sockets;
using System.Text;
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
        using var collector = OtlpCollector.Start();
        var traces = collector.WaitFor("/v1/traces", "invoke_agent");
        // The turn counter is recorded last when a turn ends: an export that has it has the turn's token usage too.
        var metrics = collector.WaitFor("/v1/metrics", "agentcore.turns");
        await using var server = await SampleServer.StartAsync(TimeSpan.Zero, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Address.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        });
        var session = await server.Client.CreateSessionAsync();

        await server.Client.ChatAsync(session.Id(), "hello telemetry");

        // Protobuf keeps strings as UTF-8: the span's attributes carry the session id as gen_ai.conversation.id.
        string exportedTrace = await traces.WaitAsync(ExportTimeout);
        exportedTrace.Should().Contain("gen_ai.conversation.id").And.Contain(session.Id());
        exportedTrace.Should().NotContain("hello telemetry", "contents are not exported unless the app opts in");
        (await metrics.WaitAsync(ExportTimeout)).Should().Contain("gen_ai.client.token.usage");
    }

    /// <summary>An OTLP/HTTP endpoint on 127.0.0.1 that answers every export with 200 and lets a test wait for one.</summary>
    private sealed class OtlpCollector : IDisposable
    {
        private readonly HttpListener _listener;
        private readonly List<(string Path, string Text, TaskCompletionSource<string> Seen)> _waiters = [];

        private OtlpCollector(HttpListener listener, Uri address)
        {
            _listener = listener;
            Address = address;
            _ = ServeAsync();
        }

        public Uri Address { get; }

        public static OtlpCollector Start()
        {
            for (int attempt = 0; ; attempt++)
            {
                // HttpListener needs a port: take one the system says is free; another process may win it, so try again.
                using var probe = new TcpListener(IPAddress.Loopback, 0);
                probe.Start();
                int port = ((IPEndPoint)probe.LocalEndpoint).Port;
                probe.Stop();
                var address = new Uri($"http://127.0.0.1:{port}/");
                var listener = new HttpListener();
                listener.Prefixes.Add(address.ToString());
                try
                {
                    listener.Start();
                    return new OtlpCollector(listener, address);
                }
                catch (HttpListenerException) when (attempt < 5)
                {
                    listener.Close();
                }
            }
        }

        /// <summary>Completes with the body of the first export to <paramref name="path"/> whose body contains <paramref name="text"/>.</summary>
        public Task<string> WaitFor(string path, string text)
        {
            var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_waiters)
            {
                _waiters.Add((path, text, seen));
            }

            return seen.Task;
        }

        public void Dispose() => _listener.Close();

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                string text = Encoding.UTF8.GetString(body.ToArray());
                string path = context.Request.Url!.AbsolutePath;
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
                lock (_waiters)
                {
                    foreach (var waiter in _waiters.Where(w => w.Path == path && text.Contains(w.Text, StringComparison.Ordinal)))
                    {
                        waiter.Seen.TrySetResult(text);
                    }
                }
            }
        }
    }
}
