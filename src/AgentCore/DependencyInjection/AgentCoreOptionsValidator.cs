using System.Globalization;
using Microsoft.Extensions.Options;

namespace AgentCore;

/// <summary>Checks <see cref="AgentCoreOptions"/>; every failure names the setting and its value.</summary>
internal sealed class AgentCoreOptionsValidator : IValidateOptions<AgentCoreOptions>
{
    /// <summary>The largest <see cref="AgentCoreOptions.MaxRetryDelay"/>: a turn holds its session's lock while it waits.</summary>
    internal static readonly TimeSpan MaxRetryDelayLimit = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, AgentCoreOptions options)
    {
        var failures = new List<string>();

        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add($"{nameof(AgentCoreOptions.DataDirectory)} must be set (it is '{options.DataDirectory}').");
        }
        else if (options.DataDirectory.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            failures.Add($"{nameof(AgentCoreOptions.DataDirectory)} '{options.DataDirectory}' is not a valid path.");
        }

        CheckModelReference(options.DefaultModel, nameof(AgentCoreOptions.DefaultModel), failures);
        CheckModelReference(options.TitleModel, nameof(AgentCoreOptions.TitleModel), failures);

        if (options.MaxSteps < 1)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{nameof(AgentCoreOptions.MaxSteps)} must be at least 1 (it is {options.MaxSteps})."));
        }

        if (options.MaxRetries < 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{nameof(AgentCoreOptions.MaxRetries)} must be 0 or more (it is {options.MaxRetries})."));
        }

        if (options.MaxRetryDelay < TimeSpan.Zero || options.MaxRetryDelay > MaxRetryDelayLimit)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture,
                $"{nameof(AgentCoreOptions.MaxRetryDelay)} must be between 00:00:00 and {MaxRetryDelayLimit} (it is {options.MaxRetryDelay})."));
        }

        if (double.IsNaN(options.CompactionThreshold) || options.CompactionThreshold <= 0 || options.CompactionThreshold > 1)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture,
                $"{nameof(AgentCoreOptions.CompactionThreshold)} must be greater than 0 and at most 1 (it is {options.CompactionThreshold})."));
        }

        if (options.MaxToolOutputBytes < 1024)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{nameof(AgentCoreOptions.MaxToolOutputBytes)} must be at least 1024 (it is {options.MaxToolOutputBytes})."));
        }

        if (options.PruneProtectedTokens < 0)
        {
            failures.Add($"{nameof(AgentCoreOptions.PruneProtectedTokens)} must be 0 or more (it is {options.PruneProtectedTokens}).");
        }

        if (options.ContextFileNames is null || options.ContextFileNames.Any(static n => string.IsNullOrWhiteSpace(n) || n.IndexOfAny(['/', '\\']) >= 0 || n == ".."))
        {
            failures.Add($"{nameof(AgentCoreOptions.ContextFileNames)} must hold plain file names (it is '{string.Join(", ", options.ContextFileNames ?? [])}').");
        }

        if (string.IsNullOrWhiteSpace(options.AgentId))
        {
            failures.Add($"{nameof(AgentCoreOptions.AgentId)} must not be empty (it is '{options.AgentId}').");
        }

        foreach (var (setting, value) in new[] { (nameof(AgentCoreOptions.MaxCostPerTurn), options.MaxCostPerTurn), (nameof(AgentCoreOptions.MaxCostPerSession), options.MaxCostPerSession) })
        {
            if (value <= 0)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{setting} must be above 0 when set (it is {value})."));
            }
        }

        if (options.MaxTokensPerTurn <= 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{nameof(AgentCoreOptions.MaxTokensPerTurn)} must be above 0 when set (it is {options.MaxTokensPerTurn})."));
        }

        if (options.DoomLoopThreshold is < 0 or 1)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{nameof(AgentCoreOptions.DoomLoopThreshold)} must be 0 (off) or at least 2 (it is {options.DoomLoopThreshold})."));
        }

        if (options.MaxConsecutiveToolErrors < 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{nameof(AgentCoreOptions.MaxConsecutiveToolErrors)} must be 0 (off) or more (it is {options.MaxConsecutiveToolErrors})."));
        }

        if (options.AbortGracePeriod < TimeSpan.Zero || options.AbortGracePeriod > TimeSpan.FromHours(1))
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{nameof(AgentCoreOptions.AbortGracePeriod)} must be between 0 and 1 hour (it is {options.AbortGracePeriod})."));
        }

        if (options.ToolsRequiringApproval is null)
        {
            failures.Add($"{nameof(AgentCoreOptions.ToolsRequiringApproval)} must not be null.");
        }
        else
        {
            foreach (var tool in options.ToolsRequiringApproval.Where(static t => t is null || !ToolNames.Valid().IsMatch(t)))
            {
                failures.Add($"{nameof(AgentCoreOptions.ToolsRequiringApproval)} holds '{tool}', which is not a tool name (1 to 64 letters, digits, '_' or '-').");
            }
        }

        if (options.McpServers is null)
        {
            failures.Add($"{nameof(AgentCoreOptions.McpServers)} must not be null.");
        }
        else
        {
            foreach (var (serverName, config) in options.McpServers)
            {
                McpServerConfig.Validate(serverName, config, failures);
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckModelReference(string? reference, string setting, List<string> failures)
    {
        if (reference is null)
        {
            return;
        }

        if (!ModelProvider.IsReference(reference) || reference.Any(char.IsWhiteSpace))
        {
            failures.Add($"{setting} must be 'provider/model' (it is '{reference}').");
        }
    }
}
