using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>What a tool source knows about the turn it is asked to supply tools for.</summary>
/// <param name="SessionId">The session running the turn.</param>
/// <param name="ProviderId">The provider of the model that will see the tools.</param>
/// <param name="ModelId">The model that will see the tools.</param>
public sealed record ToolContext(string SessionId, string ProviderId, string ModelId);

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

/// <summary>The tools a turn may call, aggregated from every <see cref="IToolSource"/>.</summary>
public interface IToolRegistry
{
    /// <summary>The tools for a turn, each name once.</summary>
    /// <param name="context">The session and model of the turn.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The tools of every source in registration order; a tool whose name is not valid or already taken is left out with a warning.</returns>
    ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default);
}
