using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>Registers the SQLite store with AgentCore.</summary>
public static class SqliteAgentCoreBuilderExtensions
{
    /// <summary>
    /// Keeps sessions in a SQLite database file (<see cref="SqliteSessionStore"/>) and, unless
    /// <see cref="SqliteStoreOptions.UseSessionLock"/> is turned off, takes the session busy lock with
    /// a <see cref="FileSessionLockProvider"/> on the folder <c>&lt;database&gt;.locks</c> beside the database, so processes sharing
    /// the file never run two turns of one session at once and an abort from any of them reaches the turn.
    /// </summary>
    /// <param name="builder">The AgentCore builder.</param>
    /// <param name="pathOrConnectionString">
    /// The database: a file path (<c>data/agentcore.db</c>), or a connection string naming it (<c>Data Source=data/agentcore.db</c>,
    /// as <c>configuration.GetConnectionString("agentcore")</c> returns). A value that parses as a SQLite connection string
    /// (Microsoft.Data.Sqlite's <c>SqliteConnectionStringBuilder</c>) with a <c>Data Source</c> is one; anything else is a path.
    /// The file is created, with its folder, on first use; a relative path is resolved against the current directory.
    /// </param>
    /// <param name="configure">Changes <see cref="SqliteStoreOptions"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="ArgumentException">
    /// The value is empty, or a connection string without a <c>Data Source</c>, for an in-memory database, or with keywords
    /// besides <c>Data Source</c> (the store opens its own connections; the message names the keywords).
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (the message names it and its value).</exception>
    public static IAgentCoreBuilder UseSqlite(this IAgentCoreBuilder builder, string pathOrConnectionString, Action<SqliteStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        string fullPath = DatabasePath(pathOrConnectionString, nameof(pathOrConnectionString));
        var options = new SqliteStoreOptions();
        configure?.Invoke(options);
        options.Validate();
        return Register(builder, fullPath, options);
    }

    /// <summary>
    /// Keeps sessions in SQLite (see <see cref="UseSqlite(IAgentCoreBuilder, string, Action{SqliteStoreOptions}?)"/>) with
    /// <see cref="SqliteStoreOptions"/> bound from <paramref name="configuration"/>: <c>ConnectionString</c> (a path or a
    /// connection string), <c>BusyTimeout</c>, <c>UseSessionLock</c>, <c>AbortPollInterval</c>.
    /// </summary>
    /// <param name="builder">The AgentCore builder.</param>
    /// <param name="configuration">The section, for example <c>builder.Configuration.GetSection("AgentCore:Sqlite")</c>.</param>
    /// <param name="configure">Changes the options after binding; may be null.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configuration"/> is null.</exception>
    /// <remarks>
    /// The section is read here, at registration, because <c>UseSessionLock</c> decides which services are registered: a bad
    /// value fails before the host is built, with a message naming the setting's configuration path and its value.
    /// </remarks>
    /// <exception cref="InvalidOperationException">A value does not convert to its setting's type.</exception>
    /// <exception cref="ArgumentException"><c>ConnectionString</c> is missing or not valid.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <example>
    /// <code>
    /// "AgentCore": { "Sqlite": { "ConnectionString": "Data Source=data/agentcore.db", "BusyTimeout": "00:00:10" } }
    ///
    /// builder.Services.AddAgentCore(builder.Configuration.GetSection("AgentCore"))
    ///     .UseSqlite(builder.Configuration.GetSection("AgentCore:Sqlite"));
    /// </code>
    /// </example>
    public static IAgentCoreBuilder UseSqlite(this IAgentCoreBuilder builder, IConfiguration configuration, Action<SqliteStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var (options, connectionString, prefix) = StoreConfiguration.Bind(
            configuration, configure, static o => o.ConnectionString, "the database's path or connection string");
        string fullPath = DatabasePath(connectionString, prefix + nameof(SqliteStoreOptions.ConnectionString));
        options.Validate(prefix);
        return Register(builder, fullPath, options);
    }

    /// <summary>
    /// The full path of the database <paramref name="value"/> names: a connection string's <c>Data Source</c>, or the value
    /// itself as a path.
    /// </summary>
    internal static string DatabasePath(string value, string paramName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value, paramName);
        SqliteConnectionStringBuilder? parsed = null;
        if (value.Contains('=', StringComparison.Ordinal))
        {
            try
            {
                parsed = new SqliteConnectionStringBuilder(value);
            }
            catch (ArgumentException)
            {
                // Not a connection string (an unknown keyword or no key=value shape): a file name holding '='.
            }
        }

        if (parsed is null)
        {
            return Path.GetFullPath(value);
        }

        if (string.IsNullOrWhiteSpace(parsed.DataSource))
        {
            throw new ArgumentException($"The SQLite connection string given as {paramName} has no Data Source: name the database file, as in 'Data Source=agentcore.db'.", paramName);
        }

        if (parsed.Mode == SqliteOpenMode.Memory || parsed.DataSource == ":memory:")
        {
            throw new ArgumentException($"The SQLite connection string given as {paramName} is for an in-memory database: the store and its lock need a file. Use UseInMemoryStore() for sessions in memory.", paramName);
        }

        var defaults = new SqliteConnectionStringBuilder();
        var extra = parsed.Keys.Cast<string>()
            .Where(key => key != "Data Source" && !Equals(parsed[key], defaults[key]))
            .ToList();
        if (extra.Count > 0)
        {
            // Keywords only, never their values (a Password may be among them).
            throw new ArgumentException(
                $"The SQLite connection string given as {paramName} sets {string.Join(", ", extra.Select(k => "'" + k + "'"))}: the store opens its own connections and takes only the Data Source. Remove the other keywords.",
                paramName);
        }

        return Path.GetFullPath(parsed.DataSource);
    }

    private static IAgentCoreBuilder Register(IAgentCoreBuilder builder, string fullPath, SqliteStoreOptions options)
    {
        builder.UseSessionStore(sp => new SqliteSessionStore(
            fullPath, options, sp.GetService<ILogger<SqliteSessionStore>>(), sp.GetService<TimeProvider>()));
        if (options.UseSessionLock)
        {
            builder.Services.RemoveAll<ISessionLockProvider>();
            // The abort poll waits on other processes: real time, not the app's clock.
            builder.Services.AddSingleton<ISessionLockProvider>(_ => new FileSessionLockProvider(
                LockDirectoryOf(fullPath), options.AbortPollInterval, TimeProvider.System));
        }

        return builder;
    }

    /// <summary>The folder of the session lock files of the database <paramref name="databasePath"/>: <c>&lt;database&gt;.locks</c>.</summary>
    internal static string LockDirectoryOf(string databasePath) => Path.GetFullPath(databasePath) + ".locks";
}
