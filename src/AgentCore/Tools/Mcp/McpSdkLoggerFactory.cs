using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>
/// The logger factory handed to the MCP SDK: the app's, with the SDK's Trace level cut off. At Trace the SDK logs a
/// stdio server's whole environment and the JSON-RPC messages (tool arguments and results), which may hold secrets.
/// </summary>
internal sealed class McpSdkLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new NoTraceLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("Add providers to the app's logger factory.");

    // The app's factory belongs to the app.
    public void Dispose()
    {
    }

    private sealed class NoTraceLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel > LogLevel.Trace && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel > LogLevel.Trace)
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
