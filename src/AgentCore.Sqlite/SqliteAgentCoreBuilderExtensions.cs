using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>Registers the SQLite store with AgentCore.</summary>
public static class SqliteAgentCoreBuilderExtensions
{
    /// <summary>
    /// Keeps sessions in the SQLite database file <paramref name="path"/> (<see cref="SqliteSessionStore"/>) and, unless
    /// <see cref="SqliteStoreOptions.UseSessionLock"/> is turned off, takes the session busy lock with
    /// <see cref="SqliteSessionLockProvider"/>, so processes sharing the file never run two turns of one session at once.
    /// </summary>
    /// <param name="builder">The AgentCore builder.</param>
    /// <param name="path">The database file; created, with its folder, on first use. A relative path is resolved against the current directory.</param>
    /// <param name="configure">Changes <see cref="SqliteStoreOptions"/>.</param>
    public static IAgentCoreBuilder UseSqlite(this IAgentCoreBuilder builder, string path, Action<SqliteStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var options = new SqliteStoreOptions();
        configure?.Invoke(options);
        options.Validate();
        string fullPath = Path.GetFullPath(path);

        builder.UseSessionStore(sp => new SqliteSessionStore(
            fullPath, options, sp.GetService<ILogger<SqliteSessionStore>>(), sp.GetService<TimeProvider>()));
        if (options.UseSessionLock)
        {
            builder.Services.RemoveAll<ISessionLockProvider>();
            builder.Services.AddSingleton<ISessionLockProvider>(sp => new SqliteSessionLockProvider(
                fullPath, options, sp.GetService<TimeProvider>()));
        }

        return builder;
    }
}
