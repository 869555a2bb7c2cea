using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>
/// The logger factory handed to the MCP SDK: the app's, with what the SDK logs of a server's own output kept at Debug
/// and its Trace level cut off.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>At Trace the SDK logs a stdio server's whole environment and the JSON-RPC messages (tool arguments and
/// results), which may hold secrets: dropped.</item>
/// <item>The SDK logs every line a stdio server writes to stderr at Information, and a server may print its own token
/// there: logged at Debug.</item>
/// <item>An entry that carries an exception is logged at Debug at most: the SDK puts a server's last stderr lines into
/// the message of the exception it raises when the process exits. AgentCore reports the failure itself, content-free,
/// at Warning.</item>
/// </list>
/// </remarks>
internal sealed class McpSdkLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    /// <summary>The name of the SDK's event for one line of a server's stderr (its source-generated log method).</summary>
    internal const string StderrEventName = "LogReadStderr";

    public ILogger CreateLogger(string categoryName) => new CappedLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("Add providers to the app's logger factory.");

    // The app's factory belongs to the app.
    public void Dispose()
    {
    }

    /// <summary>The level an SDK entry is logged at, or null to drop it.</summary>
    internal static LogLevel? LevelFor(LogLevel level, EventId eventId, Exception? exception)
    {
        if (level is LogLevel.Trace or LogLevel.None)
        {
            return null;
        }

        return exception is not null || string.Equals(eventId.Name, StderrEventName, StringComparison.Ordinal)
            ? LogLevel.Debug
            : level;
    }

    private sealed class CappedLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        // An entry may be lowered to Debug: enabled when its own level or Debug is.
        public bool IsEnabled(LogLevel logLevel) =>
            logLevel > LogLevel.Trace && logLevel != LogLevel.None && (inner.IsEnabled(LogLevel.Debug) || inner.IsEnabled(logLevel));

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (LevelFor(logLevel, eventId, exception) is { } level && inner.IsEnabled(level))
            {
                inner.Log(level, eventId, state, exception, formatter);
            }
        }
    }
}
