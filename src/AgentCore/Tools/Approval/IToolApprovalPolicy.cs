using Microsoft.Extensions.AI;

namespace AgentCore;

/// <summary>
/// Decides which tool calls need a person's approval before they run, beside the ones that always do (tools that are
/// an <see cref="ApprovalRequiredAIFunction"/>, tools named in <see cref="AgentCoreOptions.ToolsRequiringApproval"/>,
/// MCP servers with <see cref="McpServerConfig.RequireApproval"/>). Register one with
/// <c>AddToolApprovalPolicy&lt;T&gt;()</c> or <c>AddToolApprovalPolicy(context =&gt; ...)</c>; a call needs approval
/// when any rule or policy says so, unless the session always allows the tool
/// (<see cref="SessionServiceApprovalExtensions.AlwaysAllowToolAsync"/>).
/// </summary>
public interface IToolApprovalPolicy
{
    /// <summary>Returns whether the call needs approval.</summary>
    /// <param name="context">The call and its session.</param>
    /// <param name="cancellationToken">Cancelled when the turn is aborted.</param>
    /// <returns><see langword="true"/> when a person must approve the call before it runs.</returns>
    ValueTask<bool> RequiresApprovalAsync(ToolApprovalContext context, CancellationToken cancellationToken = default);
}

/// <summary>An <see cref="IToolApprovalPolicy"/> over a delegate.</summary>
internal sealed class DelegateToolApprovalPolicy(Func<ToolApprovalContext, bool> requiresApproval) : IToolApprovalPolicy
{
    public ValueTask<bool> RequiresApprovalAsync(ToolApprovalContext context, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(requiresApproval(context));
}
