using Microsoft.Extensions.Logging;

namespace AgentCore.Sqlite.Tests;

/// <summary>Counts the log messages containing a text.</summary>
internal sealed class CountingLogger<T>(string text) : ILogger<T>
{
    private readonly TaskCompletionSource _logged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Completes when a first message containing the text is logged.</summary>
    public Task Logged => _logged.Task;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (formatter(state, exception).Contains(text, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _count);
            _logged.TrySetResult();
        }
    }
}
