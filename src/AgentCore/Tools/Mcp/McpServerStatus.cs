namespace AgentCore;

/// <summary>Where an MCP server stands.</summary>
public enum McpServerStatus
{
    /// <summary>Not asked for tools yet: servers start on first use.</summary>
    NotStarted,

    /// <summary>Starting or connecting right now.</summary>
    Connecting,

    /// <summary>Connected; its tools are offered to the model.</summary>
    Connected,

    /// <summary>
    /// Failed to start, connect or list its tools within its <see cref="McpServerConfig.ConnectTimeout"/>, or its
    /// connection dropped. <see cref="McpServerState.Error"/> says why. It is tried again after a back-off (a dropped
    /// connection on the next request).
    /// </summary>
    Failed,

    /// <summary>Configured with <see cref="McpServerConfig.Enabled"/> off: never started.</summary>
    Disabled,
}
