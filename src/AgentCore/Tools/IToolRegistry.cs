using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>The tools a turn may call, aggregated from every <see cref="IToolSource"/>.</summary>
public interface IToolRegistry
{
    /// <summary>The tools for a turn, each name once.</summary>
    /// <param name="context">The session and model of the turn.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The tools of every source in registration order; a tool whose name is not valid or already taken is left out with a warning.</returns>
    ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default);
}
