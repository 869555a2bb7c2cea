namespace AgentCore;

/// <summary>
/// The configured MCP servers and how they are doing. Registered by <c>AddAgentCore</c>; servers come from
/// <c>AddMcpServer</c> and <see cref="AgentCoreOptions.McpServers"/>.
/// </summary>
/// <remarks>
/// Servers connect lazily, the first time a turn asks for tools, all in parallel, each within its
/// <see cref="McpServerConfig.ConnectTimeout"/>. A server that fails is reported here with the reason and its tools are
/// left out; it is tried again once a back-off has passed (1 second after the first failure, doubling with each failure
/// in a row up to 1 minute), and turns in the meantime go ahead at once without it. A server whose connection dropped
/// is tried again on the next request. Disposing the service provider stops every server process.
/// </remarks>
public interface IMcpServers
{
    /// <summary>The state of every configured server, ordered by name.</summary>
    /// <returns>One state per configured server.</returns>
    IReadOnlyList<McpServerState> GetStatus();

    /// <summary>
    /// Connects every enabled server that is not connected yet, in parallel, and returns the resulting states. A failed
    /// server is tried at once, even while it is backing off. Optional: turns connect servers on demand; call this to
    /// start them early, for example at start-up, or to retry a server without waiting for its back-off.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting; connections already under way finish in the background.</param>
    /// <returns>The state of every configured server, ordered by name, once each attempt has ended.</returns>
    /// <exception cref="ObjectDisposedException">The service provider that owns the servers was disposed.</exception>
    ValueTask<IReadOnlyList<McpServerState>> ConnectAsync(CancellationToken cancellationToken = default);
}
