using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentCore;

/// <summary>Tool names the model sees: <c>^[A-Za-z0-9_-]{1,64}$</c>, the rule of the major providers.</summary>
internal static partial class ToolNames
{
    // \z, not $: in .NET "$" also matches before a final newline, which would let "name\n" through.
    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,64}\z", RegexOptions.CultureInvariant)]
    public static partial Regex Valid();

    public static void Validate(string? name, string paramName)
    {
        if (name is null || !Valid().IsMatch(name))
        {
            throw new ArgumentException(
                $"'{name}' is not a valid tool name: use 1 to 64 letters, digits, '_' or '-'.", paramName);
        }
    }
}

/// <summary>A local <see cref="AIFunction"/> registered with <c>AddTool</c>.</summary>
internal sealed record FunctionRegistration(AIFunction Function);

/// <summary>The tool source of the <see cref="AIFunction"/>s registered with <c>AddTool</c> and <c>AddTools</c>.</summary>
internal sealed class FunctionToolSource : IToolSource
{
    private readonly IReadOnlyList<AIFunction> _functions;

    public FunctionToolSource(IEnumerable<FunctionRegistration> registrations)
    {
        var functions = new List<AIFunction>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var registration in registrations)
        {
            var function = registration.Function;
            ToolNames.Validate(function.Name, nameof(registrations));
            if (!names.Add(function.Name))
            {
                throw new InvalidOperationException($"Two tools are registered with the name '{function.Name}'. Tool names must be unique.");
            }

            functions.Add(function);
        }

        _functions = functions;
    }

    public string Name => "local";

    public ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_functions);
}

/// <summary>
/// The default <see cref="IToolRegistry"/>: every registered <see cref="IToolSource"/>, asked in parallel.
/// A source that fails is logged and left out of the turn; the others still serve. When two sources offer
/// the same name the first registered wins and the other is logged and dropped.
/// </summary>
internal sealed partial class ToolRegistry : IToolRegistry
{
    private readonly IToolSource[] _sources;
    private readonly ILogger _logger;

    public ToolRegistry(IEnumerable<IToolSource> sources, ILogger<ToolRegistry>? logger = null)
    {
        _sources = sources.ToArray();
        _logger = logger ?? NullLogger<ToolRegistry>.Instance;
    }

    public async ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_sources.Length == 0)
        {
            return [];
        }

        var results = await Task.WhenAll(_sources.Select(source => GetFromAsync(source, context, cancellationToken))).ConfigureAwait(false);
        var tools = new List<AIFunction>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < results.Length; i++)
        {
            foreach (var tool in results[i])
            {
                if (!ToolNames.Valid().IsMatch(tool.Name))
                {
                    LogInvalidName(_sources[i].Name, tool.Name);
                }
                else if (!names.Add(tool.Name))
                {
                    LogDuplicate(_sources[i].Name, tool.Name);
                }
                else
                {
                    tools.Add(tool);
                }
            }
        }

        return tools;
    }

    private async Task<IReadOnlyList<AIFunction>> GetFromAsync(IToolSource source, ToolContext context, CancellationToken cancellationToken)
    {
        try
        {
            return await source.GetToolsAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogSourceFailed(ex, source.Name);
            return [];
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tool source {Source} failed; its tools are left out of this turn")]
    private partial void LogSourceFailed(Exception exception, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tool source {Source} offers '{Tool}', a name already taken; it is left out")]
    private partial void LogDuplicate(string source, string tool);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tool source {Source} offers '{Tool}', which is not a valid tool name; it is left out")]
    private partial void LogInvalidName(string source, string tool);
}
