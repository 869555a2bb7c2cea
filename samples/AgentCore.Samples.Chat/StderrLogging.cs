using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentCore.Samples.Chat;

/// <summary>
/// <c>--verbose</c>: AgentCore's log (Information and above) on stderr, one line per entry. Without it nothing is
/// registered and AgentCore logs nothing. AgentCore never logs message contents or secrets at these levels.
/// </summary>
internal sealed class StderrLoggerFactory : ILoggerFactory
{
    public static void Register(IServiceCollection services)
    {
        services.AddSingleton<ILoggerFactory, StderrLoggerFactory>();
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
    }

    public ILogger CreateLogger(string categoryName) => new StderrLogger(categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("The sample writes its log to stderr only.");

    public void Dispose()
    {
    }

    private sealed class StderrLogger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            string line = $"[{logLevel}] {category}: {formatter(state, exception)}";
            Console.Error.WriteLine(exception is null ? line : $"{line} ({exception.GetType().Name}: {exception.Message})");
        }
    }
}
