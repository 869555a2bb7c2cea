using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AgentCore;

/// <summary>Registers MCP servers with <see cref="IAgentCoreBuilder"/>.</summary>
public static class AgentCoreMcpBuilderExtensions
{
    /// <summary>
    /// Adds an MCP server whose tools every turn may call, named <c>&lt;name&gt;_&lt;tool&gt;</c>. The server starts on
    /// first use; a server that fails is reported by <see cref="IMcpServers"/> and left out until it connects. The same as
    /// an entry in <see cref="AgentCoreOptions.McpServers"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The server's name: 1 to 32 letters, digits, '_' or '-'; unique.</param>
    /// <param name="config">How to start or reach the server. Copied when the options are built.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The name or the configuration is not valid (the message says why).</exception>
    /// <exception cref="InvalidOperationException">A server with this name was already added.</exception>
    /// <example>
    /// <code>
    /// services.AddAgentCore()
    ///     .AddMcpServer("files", new McpServerConfig
    ///     {
    ///         Command = "npx",
    ///         Arguments = ["-y", "@modelcontextprotocol/server-filesystem", "/srv/docs"],
    ///     })
    ///     .AddMcpServer("issues", new McpServerConfig
    ///     {
    ///         Endpoint = new Uri("https://mcp.example.com/mcp"),
    ///         Headers = { ["Authorization"] = "Bearer " + token },
    ///     });
    /// </code>
    /// </example>
    public static IAgentCoreBuilder AddMcpServer(this IAgentCoreBuilder builder, string name, McpServerConfig config)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(config);

        if (!McpServerConfig.IsValidName(name))
        {
            throw new ArgumentException(
                $"'{name}' is not a valid MCP server name: use 1 to {McpServerConfig.MaxNameLength} letters, digits, '_' or '-'.", nameof(name));
        }

        var failures = new List<string>();
        McpServerConfig.Validate(name, config, failures);
        if (failures.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", failures), nameof(config));
        }

        if (builder.Services.Any(d => d.ServiceType == typeof(McpServerRegistration) &&
                                      d.ImplementationInstance is McpServerRegistration r && r.Name == name))
        {
            throw new InvalidOperationException($"An MCP server named '{name}' is already added. Server names must be unique.");
        }

        builder.Services.AddSingleton(new McpServerRegistration(name));

        // After every Configure (configuration binding included), so nothing binds into this instance; a name also
        // present in the bound McpServers is a conflict, not a silent override.
        builder.Services.PostConfigure<AgentCoreOptions>(options =>
        {
            if (!options.McpServers.TryAdd(name, config))
            {
                throw new OptionsValidationException(Options.DefaultName, typeof(AgentCoreOptions),
                    [$"{nameof(AgentCoreOptions.McpServers)}: the server '{name}' is added with AddMcpServer and also configured in {nameof(AgentCoreOptions.McpServers)}; keep one."]);
            }
        });

        builder.Services.AddMcpToolSource();
        return builder;
    }

    /// <summary>Registers the MCP tool source and <see cref="IMcpServers"/> once (called by <c>AddAgentCore</c> and <c>AddMcpServer</c>).</summary>
    internal static IServiceCollection AddMcpToolSource(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(McpToolSource)))
        {
            return services;
        }

        services.TryAddSingleton<IMcpClientTransportFactory, McpClientTransportFactory>();
        services.AddSingleton<McpToolSource>();
        services.AddSingleton<IToolSource>(static sp => sp.GetRequiredService<McpToolSource>());
        services.TryAddSingleton<IMcpServers>(static sp => sp.GetRequiredService<McpToolSource>());
        return services;
    }
}

/// <summary>Marks a server added with <c>AddMcpServer</c>, to refuse a second one of the same name.</summary>
internal sealed record McpServerRegistration(string Name);
