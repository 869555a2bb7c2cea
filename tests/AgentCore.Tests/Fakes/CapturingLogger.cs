using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace AgentCore.Tests.Fakes;

/// <summary>One log call captured by <see cref="CapturingLogger{T}"/>.</summary>
internal sealed record LogEntry(LogLevel Level, EventId EventId, string Message, Exception? Exception);

/// <summary>An <see cref="ILogger{T}"/> that keeps every entry (all levels enabled), safe for concurrent use.</summary>
internal sealed class CapturingLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => _entries.ToArray();

    public IReadOnlyList<LogEntry> Warnings => _entries.Where(static e => e.Level == LogLevel.Warning).ToArray();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue(new LogEntry(logLevel, eventId, formatter(state, exception), exception));
}
