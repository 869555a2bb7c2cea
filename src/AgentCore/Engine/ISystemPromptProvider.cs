namespace AgentCore;

/// <summary>
/// Supplies one section of the system prompt. AgentCore's own sections are the base prompt, the environment and
/// context files (each switchable in <see cref="AgentCoreOptions"/>); add yours with <c>AddSystemPromptProvider&lt;T&gt;()</c>.
/// Sections appear in registration order.
/// </summary>
public interface ISystemPromptProvider
{
    /// <summary>The section's text, or null to add nothing this turn.</summary>
    /// <param name="context">The session and the model of the turn.</param>
    /// <param name="cancellationToken">Cancels the turn's start.</param>
    /// <returns>The section's text, or null.</returns>
    ValueTask<string?> GetSectionAsync(SystemPromptContext context, CancellationToken cancellationToken = default);
}
