namespace AgentCore;

/// <summary>
/// Settings of the scheduled purge <see cref="SessionRetentionBuilderExtensions.AddSessionRetention"/> registers:
/// every <see cref="Interval"/>, the sessions not updated for <see cref="MaxAge"/> are deleted with
/// <see cref="ISessionService.PurgeAsync"/>.
/// </summary>
public sealed class SessionRetentionOptions
{
    /// <summary>How long a session is kept after its last update. Must be positive. Default: 30 days.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often the purge runs; the first run is when the host starts. Must be positive. Default: 1 hour.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);
}
