using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace AgentCore.Tests.Fakes;

/// <summary>One captured log call. <see cref="Message"/> is formatted; the exception, if any, is kept beside it.</summary>
internal sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)
{
    /// <summary>The message and the exception's text: everything a log sink could have written.</summary>
    public string FullText => Exception is null ? Message : Message + " | " + Exception;
}

/// <summary>An <see cref="ILoggerFactory"/> that keeps every entry at every level, safe for concurrent use.</summary>
internal sealed class CapturingLoggerFactory : ILoggerFactory
{
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    /// <summary>Every entry as "Level Category: text", one per line.</summary>
    public string AllText => string.Join("\n", Entries.Select(static e => $"{e.Level} {e.Category}: {e.FullText}"));

    /// <summary>Raised after each entry is kept, on the thread that logged it: lets a test wait for a line without polling.</summary>
    public event Action<LogEntry>? Logged;

    public ILogger CreateLogger(string categoryName) => new Logger(Entries, categoryName, entry => Logged?.Invoke(entry));

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    internal sealed class Logger(ConcurrentQueue<LogEntry> entries, string category, Action<LogEntry>? logged = null) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var entry = new LogEntry(category, logLevel, eventId, formatter(state, exception), exception);
            entries.Enqueue(entry);
            logged?.Invoke(entry);
        }
    }
}

/// <summary>An <see cref="ILogger{T}"/> that keeps every entry (all levels enabled), safe for concurrent use.</summary>
internal sealed class CapturingLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private readonly CapturingLoggerFactory.Logger _inner;

    public CapturingLogger() => _inner = new CapturingLoggerFactory.Logger(_entries, typeof(T).FullName ?? typeof(T).Name);

    public IReadOnlyList<LogEntry> Entries => _entries.ToArray();

    public IReadOnlyList<LogEntry> Warnings => _entries.Where(static e => e.Level == LogLevel.Warning).ToArray();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _inner.Log(logLevel, eventId, state, exception, formatter);
}
