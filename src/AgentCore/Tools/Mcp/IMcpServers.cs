namespace AgentCore;

/// <summary>
/// The configured MCP servers and how they are doing. Registered by <c>AddAgentCore</c>; servers come from
/// <c>AddMcpServer</c> and <see cref="AgentCoreOptions.McpServers"/>.
/// </summary>
/// <remarks>
/// Servers connect lazily, the first time a turn asks for tools, all in parallel, each within its
/// <see cref="McpServerConfig.ConnectTimeout"/>. A server that fails is reported here with the reason and its tools are
/// left out; the next request for tools tries it again. Disposing the service provider stops every server process.
/// </remarks>
public interface IMcpServers
{
    /// <summary>The state of every configured server, ordered by name.</summary>
    IReadOnlyList<McpServerState> GetStatus();

    /// <summary>
    /// Connects every enabled server that is not connected yet (retrying failed ones), in parallel, and returns the
    /// resulting states. Optional: turns connect servers on demand; call this to start them early, for example at start-up.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting; connections already under way finish in the background.</param>
    ValueTask<IReadOnlyList<McpServerState>> ConnectAsync(CancellationToken cancellationToken = default);
}

/// <summary>Where an MCP server stands.</summary>
public enum McpServerStatus
{
    /// <summary>Not asked for tools yet: servers start on first use.</summary>
    NotStarted,

    /// <summary>Starting or connecting right now.</summary>
    Connecting,

    /// <summary>Connected; its tools are offered to the model.</summary>
    Connected,

    /// <summary>Failed to start, connect or list its tools, or its connection dropped. <see cref="McpServerState.Error"/> says why; the next request retries.</summary>
    Failed,

    /// <summary>Configured with <see cref="McpServerConfig.Enabled"/> off: never started.</summary>
    Disabled,
}

/// <summary>One MCP server's state.</summary>
/// <param name="Name">The server's name, as registered.</param>
/// <param name="Status">Where it stands.</param>
/// <param name="Error">Why it failed, when <paramref name="Status"/> is <see cref="McpServerStatus.Failed"/>; otherwise null.</param>
/// <param name="ToolCount">How many tools it offers (0 unless connected).</param>
public sealed record McpServerState(string Name, McpServerStatus Status, string? Error, int ToolCount);
