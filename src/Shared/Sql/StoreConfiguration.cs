using Microsoft.Extensions.Configuration;

namespace AgentCore;

/// <summary>
/// Reads a SQL store's options from configuration at registration (<c>UseSqlite(IConfiguration)</c>,
/// <c>UsePostgreSql(IConfiguration)</c>), naming settings by their configuration path in errors.
/// </summary>
/// <remarks>Linked source (<c>src/Shared/Sql</c>), compiled into each SQL store package as an internal type.</remarks>
internal static class StoreConfiguration
{
    /// <summary>
    /// Binds new options from <paramref name="configuration"/>, applies <paramref name="configure"/>, and requires a
    /// connection string.
    /// </summary>
    /// <typeparam name="TOptions">The store's options.</typeparam>
    /// <param name="configuration">The options' section.</param>
    /// <param name="configure">Changes the options after binding; may be null.</param>
    /// <param name="connectionString">Reads the connection string of the options.</param>
    /// <param name="expected">What the connection string must be, for the error message ("an Npgsql connection string").</param>
    /// <returns>
    /// The options, their connection string, and the prefix of their settings' configuration paths (<c>AgentCore:Sqlite:</c>,
    /// or empty).
    /// </returns>
    /// <exception cref="InvalidOperationException">A value does not convert to its setting's type.</exception>
    /// <exception cref="ArgumentException">The connection string is missing or blank (the message names its setting).</exception>
    public static (TOptions Options, string ConnectionString, string SettingPrefix) Bind<TOptions>(
        IConfiguration configuration, Action<TOptions>? configure, Func<TOptions, string?> connectionString, string expected)
        where TOptions : new()
    {
        var options = new TOptions();
        configuration.Bind(options);
        configure?.Invoke(options);
        string prefix = configuration is IConfigurationSection section ? section.Path + ":" : "";
        string? value = connectionString(options);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException($"{prefix}ConnectionString must be set to {expected} (it is empty or missing).", nameof(configuration));
        }

        return (options, value, prefix);
    }
}
