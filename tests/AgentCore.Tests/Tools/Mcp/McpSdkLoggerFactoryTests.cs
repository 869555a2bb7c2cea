using AgentCore.Tests.Fakes;
using Microsoft.Extensions.Logging;

namespace AgentCore.Tests.Tools.Mcp;

public sealed class McpSdkLoggerFactoryTests
{
    [Test]
    public void LevelFor_TraceEntry_Dropped() =>
        McpSdkLoggerFactory.LevelFor(LogLevel.Trace, default, exception: null).Should().BeNull();

    [Test]
    public void LevelFor_StderrLine_LoweredToDebug() =>
        McpSdkLoggerFactory.LevelFor(LogLevel.Information, new EventId(7, McpSdkLoggerFactory.StderrEventName), exception: null)
            .Should().Be(LogLevel.Debug);

    [Test]
    public void LevelFor_ErrorWithAnException_LoweredToDebug() =>
        McpSdkLoggerFactory.LevelFor(LogLevel.Error, new EventId(3, "LogClientInitializationError"), new IOException("Server's stderr tail: token"))
            .Should().Be(LogLevel.Debug);

    [Test]
    public void LevelFor_WarningWithoutAnException_KeepsItsLevel() =>
        McpSdkLoggerFactory.LevelFor(LogLevel.Warning, new EventId(4, "LogToolRejected"), exception: null).Should().Be(LogLevel.Warning);

    [Test]
    public void Log_AppAtInformation_StderrLineNotWritten()
    {
        var logs = new CapturingLoggerFactory();
        var logger = new McpSdkLoggerFactory(new MinimumLevelLoggerFactory(logs, LogLevel.Information)).CreateLogger("ModelContextProtocol.Client.StdioClientTransport");

        logger.Log(LogLevel.Information, new EventId(1, McpSdkLoggerFactory.StderrEventName), "token=abc", null, static (s, _) => s);
        logger.Log(LogLevel.Information, new EventId(2, "LogTransportProcessStarted"), "started", null, static (s, _) => s);

        logs.Entries.Select(e => (e.Level, e.Message)).Should().Equal((LogLevel.Information, "started"));
    }

    /// <summary>The app's factory with a minimum level, as logging configuration gives it.</summary>
    private sealed class MinimumLevelLoggerFactory(CapturingLoggerFactory inner, LogLevel minimum) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => new Filtered(inner.CreateLogger(categoryName), minimum);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class Filtered(ILogger inner, LogLevel minimum) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    inner.Log(logLevel, eventId, state, exception, formatter);
                }
            }
        }
    }
}
