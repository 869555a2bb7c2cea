using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AgentCore;

/// <summary>Registers the PostgreSQL store, busy lock and usage history with AgentCore.</summary>
public static class PostgreSqlAgentCoreBuilderExtensions
{
    /// <summary>
    /// Keeps sessions in the PostgreSQL database <paramref name="connectionString"/> points to (<see cref="PostgresSessionStore"/>)
    /// and, unless turned off in <see cref="PostgreSqlOptions"/>, takes the session busy lock with
    /// <see cref="PostgresSessionLockProvider"/> (across app instances) and writes the usage history to the database
    /// (<see cref="PostgresSessionHistory"/>). The tables are created on first use.
    /// </summary>
    /// <param name="builder">The AgentCore builder.</param>
    /// <param name="connectionString">An Npgsql connection string, for example <c>Host=db;Database=app;Username=app;Password=…</c>.</param>
    /// <param name="configure">Changes <see cref="PostgreSqlOptions"/>.</param>
    public static IAgentCoreBuilder UsePostgreSql(this IAgentCoreBuilder builder, string connectionString, Action<PostgreSqlOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        PostgresSessionStore.ValidConnectionString(connectionString);
        _ = new NpgsqlConnectionStringBuilder(connectionString); // a malformed connection string fails here, not at first use
        var options = new PostgreSqlOptions();
        configure?.Invoke(options);

        var services = builder.Services;
        services.RemoveAll<PostgresDatabaseHolder>();
        services.AddSingleton(_ => new PostgresDatabaseHolder(new PostgresDatabase(NpgsqlDataSource.Create(connectionString), ownsDataSource: true)));
        builder.UseSessionStore(sp => new PostgresSessionStore(
            sp.GetRequiredService<PostgresDatabaseHolder>().Database, ownsDatabase: false, sp.GetService<ILogger<PostgresSessionStore>>()));
        if (options.UseHistory)
        {
            services.RemoveAll<ISessionHistory>();
            services.AddSingleton<ISessionHistory>(sp => new PostgresSessionHistory(
                sp.GetRequiredService<PostgresDatabaseHolder>().Database, ownsDatabase: false, sp.GetService<ILogger<PostgresSessionHistory>>()));
        }

        if (options.UseSessionLock)
        {
            services.RemoveAll<ISessionLockProvider>();
            services.AddSingleton<ISessionLockProvider>(sp => new PostgresSessionLockProvider(
                connectionString, sp.GetService<ILogger<PostgresSessionLockProvider>>()));
        }

        return builder;
    }

    /// <summary>The one data source the store and the history share; the container disposes it.</summary>
    internal sealed class PostgresDatabaseHolder(PostgresDatabase database) : IAsyncDisposable, IDisposable
    {
        public PostgresDatabase Database { get; } = database;

        public ValueTask DisposeAsync() => Database.DisposeAsync();

        public void Dispose() => SynchronousDisposal.Run(DisposeAsync);
    }
}
