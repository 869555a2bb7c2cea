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

    // The last merge: the lists the sources returned and the merged list. Sources that return the same lists again (the
    // local functions always do; an MCP server until its tools change) get the same merged list, without merging again.
    private volatile Merged? _last;

    public ToolRegistry(IEnumerable<IToolSource> sources, ILogger<ToolRegistry>? logger = null)
    {
        _sources = sources.ToArray();
        _logger = logger ?? NullLogger<ToolRegistry>.Instance;
    }

    public ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_sources.Length == 0)
        {
            return ValueTask.FromResult<IReadOnlyList<AIFunction>>([]);
        }

        // The sources are asked in parallel; when every one answers at once (local functions, a cached MCP listing),
        // the answers are used as they are, with no task per source.
        var pending = new ValueTask<IReadOnlyList<AIFunction>>[_sources.Length];
        bool allDone = true;
        for (int i = 0; i < _sources.Length; i++)
        {
#pragma warning disable CA2012 // Each ValueTask is consumed exactly once: its result read when it completed at once, else awaited.
            pending[i] = GetFromAsync(_sources[i], context, cancellationToken);
#pragma warning restore CA2012
            allDone &= pending[i].IsCompletedSuccessfully;
        }

        if (!allDone)
        {
            return WaitAllAsync(pending);
        }

        var results = new IReadOnlyList<AIFunction>[pending.Length];
        for (int i = 0; i < pending.Length; i++)
        {
            results[i] = pending[i].Result;
        }

        return ValueTask.FromResult(Merge(results));
    }

    private async ValueTask<IReadOnlyList<AIFunction>> WaitAllAsync(ValueTask<IReadOnlyList<AIFunction>>[] pending)
    {
        var results = new IReadOnlyList<AIFunction>[pending.Length];
        for (int i = 0; i < pending.Length; i++)
        {
            results[i] = await pending[i].ConfigureAwait(false);
        }

        return Merge(results);
    }

    /// <summary>The sources' tools in registration order, invalid and duplicate names left out (and logged).</summary>
    private IReadOnlyList<AIFunction> Merge(IReadOnlyList<AIFunction>[] results)
    {
        if (_last is { } last && last.Matches(results))
        {
            return last.Tools;
        }

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

        IReadOnlyList<AIFunction> merged = tools.AsReadOnly();
        _last = new Merged(results, Array.ConvertAll(results, static r => r.ToArray()), merged);
        return merged;
    }

    private async ValueTask<IReadOnlyList<AIFunction>> GetFromAsync(IToolSource source, ToolContext context, CancellationToken cancellationToken)
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

    /// <summary>One merge: the lists the sources returned, the tools each held then, and the merged list.</summary>
    private sealed class Merged(IReadOnlyList<AIFunction>[] sources, AIFunction[][] held, IReadOnlyList<AIFunction> tools)
    {
        public IReadOnlyList<AIFunction> Tools { get; } = tools;

        /// <summary>
        /// Whether every source returned the very list it returned then, still holding the same tools (a list changed in
        /// place, even to the same length, is merged again).
        /// </summary>
        public bool Matches(IReadOnlyList<AIFunction>[] results)
        {
            for (int i = 0; i < results.Length; i++)
            {
                var result = results[i];
                var then = held[i];
                if (!ReferenceEquals(result, sources[i]) || result.Count != then.Length)
                {
                    return false;
                }

                for (int j = 0; j < then.Length; j++)
                {
                    if (!ReferenceEquals(result[j], then[j]))
                    {
                        return false;
                    }
                }
            }

            return true;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tool source {Source} failed; its tools are left out of this turn")]
    private partial void LogSourceFailed(Exception exception, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tool source {Source} offers '{Tool}', a name already taken; it is left out")]
    private partial void LogDuplicate(string source, string tool);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tool source {Source} offers '{Tool}', which is not a valid tool name; it is left out")]
    private partial void LogInvalidName(string source, string tool);
}
