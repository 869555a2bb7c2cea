using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentCore;

/// <summary>Runs <see cref="ISessionService.PurgeAsync"/> on the schedule of <see cref="SessionRetentionOptions"/>.</summary>
internal sealed partial class SessionRetentionService(
    ISessionService sessions,
    IOptions<SessionRetentionOptions> options,
    TimeProvider time,
    ILogger<SessionRetentionService>? logger = null) : BackgroundService
{
    private readonly ILogger _logger = logger ?? NullLogger<SessionRetentionService>.Instance;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // BackgroundService (Microsoft.Extensions.Hosting.Abstractions 10.0 and later) runs all of this on the thread pool:
        // the first purge never holds up the host's start.
        var settings = options.Value;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await sessions.PurgeAsync(time.GetUtcNow() - settings.MaxAge, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogPurgeFailed(ex);
            }

            try
            {
                await Task.Delay(settings.Interval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The scheduled session purge failed; it runs again at the next interval")]
    private partial void LogPurgeFailed(Exception exception);
}
