using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

namespace AgentCore;

/// <summary>Creates the SDK transport for one configured server. A seam for tests (in-process servers).</summary>
internal interface IMcpClientTransportFactory
{
    IClientTransport Create(string serverName, McpServerConfig config, ILoggerFactory loggerFactory);
}

/// <summary>The default transports: stdio with a minimal environment, or HTTP with auto-detection (Streamable HTTP, then SSE).</summary>
internal sealed class McpClientTransportFactory : IMcpClientTransportFactory
{
    public IClientTransport Create(string serverName, McpServerConfig config, ILoggerFactory loggerFactory)
    {
        if (config.IsStdio)
        {
            return new StdioClientTransport(CreateStdioOptions(serverName, config), loggerFactory);
        }

        var options = new HttpClientTransportOptions
        {
            Name = serverName,
            Endpoint = config.Endpoint ?? throw new InvalidOperationException($"MCP server '{serverName}' has neither a command nor an endpoint."),
            TransportMode = HttpTransportMode.AutoDetect,
            ConnectionTimeout = config.ConnectTimeout,
            AdditionalHeaders = new Dictionary<string, string>(config.Headers, StringComparer.OrdinalIgnoreCase),
        };
        return new HttpClientTransport(options, loggerFactory);
    }

    internal static StdioClientTransportOptions CreateStdioOptions(string serverName, McpServerConfig config) => new()
    {
        Name = serverName,
        Command = config.Command!,
        Arguments = config.Arguments.ToList(),
        WorkingDirectory = config.WorkingDirectory,
        InheritEnvironmentVariables = config.InheritEnvironment,
        EnvironmentVariables = McpEnvironment.For(config),
    };
}

/// <summary>
/// The environment of a stdio server. Without <see cref="McpServerConfig.InheritEnvironment"/> the SDK starts the
/// process with an empty environment (<see cref="StdioClientTransportOptions.InheritEnvironmentVariables"/> off clears
/// it) and this is the whole of it: <see cref="BaselineNames"/> copied from the app, then the configured variables.
/// </summary>
internal static class McpEnvironment
{
    private static readonly string[] UnixNames = ["HOME", "LANG", "LOGNAME", "PATH", "SHELL", "TERM", "TMPDIR", "USER"];

    private static readonly string[] WindowsNames =
    [
        "APPDATA", "COMSPEC", "HOMEDRIVE", "HOMEPATH", "LOCALAPPDATA", "PATH", "PATHEXT", "PROCESSOR_ARCHITECTURE",
        "PROGRAMDATA", "PROGRAMFILES", "SYSTEMDRIVE", "SYSTEMROOT", "TEMP", "TMP", "USERNAME", "USERPROFILE", "WINDIR",
    ];

    /// <summary>The variables of the app a stdio server gets without <see cref="McpServerConfig.InheritEnvironment"/> (those that are set).</summary>
    public static IReadOnlyList<string> BaselineNames => OperatingSystem.IsWindows() ? WindowsNames : UnixNames;

    /// <summary>The variables to set for <paramref name="config"/>'s process (on top of nothing, or of the inherited environment).</summary>
    public static Dictionary<string, string?> For(McpServerConfig config)
    {
        var comparer = OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        var variables = new Dictionary<string, string?>(comparer);
        if (!config.InheritEnvironment)
        {
            foreach (string name in BaselineNames)
            {
                string? value = Environment.GetEnvironmentVariable(name);

                // A value starting with "()" is an exported shell function: never pass code along.
                if (value is not null && !value.StartsWith("()", StringComparison.Ordinal))
                {
                    variables[name] = value;
                }
            }
        }

        foreach (var (name, value) in config.Environment)
        {
            variables[name] = value;
        }

        return variables;
    }
}
