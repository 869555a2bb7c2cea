using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Client;

namespace AgentCore;

/// <summary>
/// The tool source of every configured MCP server (from <c>AddMcpServer</c> and <see cref="AgentCoreOptions.McpServers"/>),
/// and <see cref="IMcpServers"/>. Asks the servers in parallel; a failing server gives no tools and the others still
/// serve. Names the tools <c>&lt;server&gt;_&lt;tool&gt;</c> across all servers at once, so two servers cannot end up
/// with the same name (see <see cref="McpToolNames"/>); tools come ordered by server, then tool name. Disposing it
/// stops every server.
/// </summary>
internal sealed class McpToolSource : IToolSource, IMcpServers, IAsyncDisposable, IDisposable
{
    private readonly McpServerConnection[] _servers;
    private readonly Lock _gate = new();
    private IReadOnlyList<McpClientTool>[]? _cachedInputs;
    private IReadOnlyList<AIFunction> _cachedTools = [];
    private int _disposed;

    public McpToolSource(IOptions<AgentCoreOptions> options, IMcpClientTransportFactory transportFactory, TimeProvider timeProvider,
        ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        loggerFactory ??= NullLoggerFactory.Instance;
        var sdkLoggerFactory = new McpSdkLoggerFactory(loggerFactory);
        var logger = loggerFactory.CreateLogger<McpToolSource>();
        _servers = options.Value.McpServers
            .OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .Select(pair => new McpServerConnection(pair.Key, pair.Value, transportFactory, sdkLoggerFactory, timeProvider, logger))
            .ToArray();
    }

    public string Name => "mcp";

    /// <summary>The servers, ordered by name.</summary>
    internal IReadOnlyList<McpServerConnection> Servers => _servers;

    public async ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_servers.Length == 0)
        {
            return [];
        }

        var lists = await Task.WhenAll(_servers.Select(server => server.GetToolsAsync(cancellationToken: cancellationToken))).ConfigureAwait(false);
        lock (_gate)
        {
            if (_cachedInputs is not null && _cachedInputs.AsSpan().SequenceEqual(lists, ReferenceEqualityComparer.Instance))
            {
                return _cachedTools;
            }
        }

        var identities = new List<(string Server, string Tool)>();
        var tools = new List<McpClientTool>();
        var approval = new List<bool>();
        for (int i = 0; i < _servers.Length; i++)
        {
            // Ordered by name: a stable tool list whatever order the server lists them in (prompt caches like that).
            foreach (var tool in lists[i].OrderBy(t => t.ProtocolTool.Name, StringComparer.Ordinal))
            {
                identities.Add((_servers[i].Name, tool.ProtocolTool.Name));
                tools.Add(tool);
                approval.Add(_servers[i].Config.RequireApproval);
            }
        }

        var names = McpToolNames.Assign(identities);
        var functions = new AIFunction[tools.Count];
        for (int i = 0; i < functions.Length; i++)
        {
            AIFunction function = new McpToolFunction(tools[i], names[i]);
            functions[i] = approval[i] ? new ApprovalRequiredAIFunction(function) : function;
        }

        lock (_gate)
        {
            _cachedInputs = lists;
            _cachedTools = functions;
        }

        return functions;
    }

    public IReadOnlyList<McpServerState> GetStatus() => _servers.Select(server => server.GetState()).ToArray();

    public async ValueTask<IReadOnlyList<McpServerState>> ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await Task.WhenAll(_servers.Select(server => server.GetToolsAsync(retryNow: true, cancellationToken))).ConfigureAwait(false);
        return GetStatus();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Task.WhenAll(_servers.Select(server => server.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    /// <summary>For a service provider disposed synchronously: stops the servers and waits for them.</summary>
    public void Dispose() => SynchronousDisposal.Run(DisposeAsync);
}
