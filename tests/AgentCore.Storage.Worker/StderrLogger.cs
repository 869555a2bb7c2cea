using Microsoft.Extensions.Logging;

namespace AgentCore.Storage.Worker;

/// <summary>Writes warnings and errors to stderr and counts them.</summary>
internal sealed class StderrLogger
{
    private int _warnings;

    public int Warnings => Volatile.Read(ref _warnings);

    public ILogger<T> For<T>() => new Typed<T>(this);

    private sealed class Typed<T>(StderrLogger owner) : ILogger<T>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            Interlocked.Increment(ref owner._warnings);
            Console.Error.WriteLine($"{logLevel}: {formatter(state, exception)}");
        }
    }
}
