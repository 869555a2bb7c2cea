namespace AgentCore;

/// <summary>One MCP server's state.</summary>
/// <param name="Name">The server's name, as registered.</param>
/// <param name="Status">Where it stands.</param>
/// <param name="Error">
/// Why it failed, when <paramref name="Status"/> is <see cref="McpServerStatus.Failed"/>; otherwise null. For a process
/// that exited it includes the exit code and the last lines the server wrote to stderr, which may hold what the server
/// printed of its own secrets: AgentCore logs this text at Debug only.
/// </param>
/// <param name="ToolCount">How many tools it offers (0 unless connected).</param>
public sealed record McpServerState(string Name, McpServerStatus Status, string? Error, int ToolCount);
