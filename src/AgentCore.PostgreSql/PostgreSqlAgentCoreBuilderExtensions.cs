using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AgentCore;

/// <summary>Registers the PostgreSQL store, busy lock and usage history with AgentCore.</summary>
public static class PostgreSqlAgentCoreBuilderExtensions
{
    /// <summary>
    /// Keeps sessions in the PostgreSQL database <paramref name="connectionString"/> points to (<see cref="PostgreSqlSessionStore"/>)
    /// and, unless turned off in <see cref="PostgreSqlOptions"/>, takes the session busy lock with
    /// <see cref="PostgreSqlSessionLockProvider"/> (across app instances) and writes the usage history to the database
    /// (<see cref="PostgreSqlSessionHistory"/>). With <see cref="PostgreSqlOptions.UseEvents"/>, session events cross instances
    /// through the database too. The tables are created on first use.
    /// </summary>
    /// <param name="builder">The AgentCore builder.</param>
    /// <param name="connectionString">An Npgsql connection string, for example <c>Host=db;Database=app;Username=app;Password=…</c>.</param>
    /// <param name="configure">Changes <see cref="PostgreSqlOptions"/>.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is empty, white space or malformed.</exception>
    public static IAgentCoreBuilder UsePostgreSql(this IAgentCoreBuilder builder, string connectionString, Action<PostgreSqlOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        PostgreSqlSessionStore.ValidConnectionString(connectionString);
        _ = new NpgsqlConnectionStringBuilder(connectionString); // a malformed connection string fails here, not at first use
        var options = new PostgreSqlOptions();
        configure?.Invoke(options);
        return Register(builder, _ => NpgsqlDataSource.Create(connectionString), ownsDataSource: true, options);
    }

    /// <summary>
    /// Keeps sessions in PostgreSQL (see <see cref="UsePostgreSql(IAgentCoreBuilder, string, Action{PostgreSqlOptions}?)"/>) on the
    /// data source <paramref name="dataSourceFactory"/> returns, for example the one the app registered itself:
    /// <c>UsePostgreSql(sp =&gt; sp.GetRequiredService&lt;NpgsqlDataSource&gt;())</c>. The store, the busy lock and the usage
    /// history share it (the lock keeps two connections of its own with its settings, outside its pool, however many turns run: see <see cref="PostgreSqlSessionLockProvider"/>).
    /// </summary>
    /// <param name="builder">The AgentCore builder.</param>
    /// <param name="dataSourceFactory">
    /// Returns the data source, once, when the store is first resolved. AgentCore does not dispose it: return one the
    /// container owns (registered as a service), or dispose it yourself after the container. It must not multiplex.
    /// </param>
    /// <param name="configure">Changes <see cref="PostgreSqlOptions"/> (its <c>ConnectionString</c> is not used).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="dataSourceFactory"/> is null.</exception>
    public static IAgentCoreBuilder UsePostgreSql(
        this IAgentCoreBuilder builder, Func<IServiceProvider, NpgsqlDataSource> dataSourceFactory, Action<PostgreSqlOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dataSourceFactory);
        var options = new PostgreSqlOptions();
        configure?.Invoke(options);
        return Register(builder, dataSourceFactory, ownsDataSource: false, options);
    }

    /// <summary>
    /// Keeps sessions in PostgreSQL (see <see cref="UsePostgreSql(IAgentCoreBuilder, string, Action{PostgreSqlOptions}?)"/>) with
    /// <see cref="PostgreSqlOptions"/> bound from <paramref name="configuration"/>: <c>ConnectionString</c>, <c>UseSessionLock</c>,
    /// <c>UseHistory</c>, <c>UseEvents</c>, <c>EventRetention</c>.
    /// </summary>
    /// <param name="builder">The AgentCore builder.</param>
    /// <param name="configuration">The section, for example <c>builder.Configuration.GetSection("AgentCore:PostgreSql")</c>.</param>
    /// <param name="configure">Changes the options after binding (set <c>ConnectionString</c> from <c>GetConnectionString</c>, say); may be null.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configuration"/> is null.</exception>
    /// <remarks>
    /// The section is read here, at registration, because <c>UseSessionLock</c> and <c>UseHistory</c> decide which services are
    /// registered: a bad value fails before the host is built, with a message naming the setting's configuration path.
    /// </remarks>
    /// <exception cref="InvalidOperationException">A value does not convert to its setting's type.</exception>
    /// <exception cref="ArgumentException"><c>ConnectionString</c> is missing or malformed (the message names the setting, never the connection string, which may hold a password).</exception>
    public static IAgentCoreBuilder UsePostgreSql(this IAgentCoreBuilder builder, IConfiguration configuration, Action<PostgreSqlOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var (options, connectionString, prefix) = StoreConfiguration.Bind(configuration, configure, static o => o.ConnectionString, "an Npgsql connection string");
        string setting = prefix + nameof(PostgreSqlOptions.ConnectionString);
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"{setting} is not a valid Npgsql connection string: {ex.Message}", nameof(configuration), ex);
        }

        return Register(builder, _ => NpgsqlDataSource.Create(connectionString), ownsDataSource: true, options);
    }

    private static IAgentCoreBuilder Register(
        IAgentCoreBuilder builder, Func<IServiceProvider, NpgsqlDataSource> dataSource, bool ownsDataSource, PostgreSqlOptions options)
    {
        var services = builder.Services;
        services.RemoveAll<PostgreSqlDatabaseHolder>();
        // One data source for the store, the history and the lock; disposed with the container when AgentCore created it.
        services.AddSingleton(sp => new PostgreSqlDatabaseHolder(new PostgreSqlDatabase(
            dataSource(sp) ?? throw new InvalidOperationException("The data source factory given to UsePostgreSql returned null."), ownsDataSource)));
        builder.UseSessionStore(sp => new PostgreSqlSessionStore(
            sp.GetRequiredService<PostgreSqlDatabaseHolder>().Database, ownsDatabase: false, sp.GetService<ILogger<PostgreSqlSessionStore>>()));
        if (options.UseHistory)
        {
            services.RemoveAll<ISessionHistory>();
            services.AddSingleton<ISessionHistory>(sp => new PostgreSqlSessionHistory(
                sp.GetRequiredService<PostgreSqlDatabaseHolder>().Database, ownsDatabase: false, sp.GetService<ILogger<PostgreSqlSessionHistory>>()));
        }

        if (options.UseSessionLock)
        {
            services.RemoveAll<ISessionLockProvider>();
            services.AddSingleton<ISessionLockProvider>(sp => new PostgreSqlSessionLockProvider(
                sp.GetRequiredService<PostgreSqlDatabaseHolder>().Database.DataSource, ownsDataSource: false,
                sp.GetService<ILogger<PostgreSqlSessionLockProvider>>(), sp.GetService<TimeProvider>()));
        }

        if (options.UseEvents)
        {
            if (options.EventRetention <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(options), options.EventRetention, "PostgreSqlOptions.EventRetention must be positive.");
            }

            services.RemoveAll<ISessionEventRelay>();
            services.AddSingleton<ISessionEventRelay>(sp => new PostgreSqlSessionEventRelay(
                sp.GetRequiredService<PostgreSqlDatabaseHolder>().Database.DataSource, options.EventRetention,
                sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetService<ILogger<PostgreSqlSessionEventRelay>>(),
                sessionLockShared: options.UseSessionLock));
        }

        return builder;
    }

    /// <summary>The one data source the store, the history and the lock share; the container disposes it (when AgentCore created it).</summary>
    internal sealed class PostgreSqlDatabaseHolder(PostgreSqlDatabase database) : IAsyncDisposable, IDisposable
    {
        public PostgreSqlDatabase Database { get; } = database;

        public ValueTask DisposeAsync() => Database.DisposeAsync();

        public void Dispose() => SynchronousDisposal.Run(DisposeAsync);
    }
}
