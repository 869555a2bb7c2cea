using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AgentCore;

/// <summary>Registration of the scheduled session purge.</summary>
public static class SessionRetentionBuilderExtensions
{
    /// <summary>
    /// Registers a hosted service that runs <see cref="ISessionService.PurgeAsync"/> when the host starts and then every
    /// <see cref="SessionRetentionOptions.Interval"/>, deleting the sessions not updated for
    /// <see cref="SessionRetentionOptions.MaxAge"/> (never one running a turn), on the registered <see cref="TimeProvider"/>.
    /// Nothing is purged unless an app calls this.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the retention; null keeps the defaults (30 days, checked hourly).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <remarks>The options are validated when the host starts: a zero or negative age or interval fails it with an
    /// <see cref="OptionsValidationException"/> naming the value.</remarks>
    public static IAgentCoreBuilder AddSessionRetention(this IAgentCoreBuilder builder, Action<SessionRetentionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<SessionRetentionOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options
            .Validate(static o => o.MaxAge > TimeSpan.Zero, "SessionRetentionOptions.MaxAge must be positive.")
            .Validate(static o => o.Interval > TimeSpan.Zero, "SessionRetentionOptions.Interval must be positive.")
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SessionRetentionService>());
        return builder;
    }
}
