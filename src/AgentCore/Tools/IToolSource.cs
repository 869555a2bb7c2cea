using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// A supplier of tools: the registered local functions, one MCP server, or a source of your own
/// (register it with <c>AddToolSource&lt;T&gt;()</c>).
/// </summary>
public interface IToolSource
{
    /// <summary>A short name for logs and errors.</summary>
    string Name { get; }

    /// <summary>The tools available for a turn. Names must match <c>^[A-Za-z0-9_-]{1,64}$</c>.</summary>
    /// <param name="context">The session and model of the turn.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The tools; empty for none.</returns>
    ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default);
}
