using System.Reflection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace AgentCore;

/// <summary>
/// One configured MCP server: connects on first use, keeps the listed tools until the server says they changed,
/// records why it failed and tries again on the next request, and stops the server when disposed.
/// </summary>
/// <remarks>
/// Concurrent requests share one connection attempt. The attempt is bounded by <see cref="McpServerConfig.ConnectTimeout"/>
/// and by disposal, not by the caller's token: a caller that gives up stops waiting, the attempt goes on.
/// </remarks>
internal sealed partial class McpServerConnection : IAsyncDisposable
{
    private static readonly Implementation ClientInfo = new()
    {
        Name = "AgentCore",
        Version = typeof(McpServerConnection).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0",
    };

    private readonly IMcpClientTransportFactory _transportFactory;
    private readonly ILoggerFactory _sdkLoggerFactory;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _disposed = new();
    private readonly Lock _gate = new();

    private McpClient? _client;
    private IReadOnlyList<McpClientTool> _tools = [];
    private Task<IReadOnlyList<McpClientTool>>? _attempt;
    private McpServerStatus _status;
    private string? _error;
    private int _listVersion;
    private int _toolsVersion = -1;
    private bool _isDisposed;

    public McpServerConnection(string name, McpServerConfig config, IMcpClientTransportFactory transportFactory,
        ILoggerFactory sdkLoggerFactory, TimeProvider timeProvider, ILogger logger)
    {
        Name = name;
        Config = config.Snapshot();
        _transportFactory = transportFactory;
        _sdkLoggerFactory = sdkLoggerFactory;
        _timeProvider = timeProvider;
        _logger = logger;
        _status = Config.Enabled ? McpServerStatus.NotStarted : McpServerStatus.Disabled;
    }

    public string Name { get; }

    public McpServerConfig Config { get; }

    /// <summary>Raised after the server announced that its tool list changed (for tests and diagnostics).</summary>
    public event Action<McpServerConnection>? ToolListChanged;

    /// <summary>Raised after a connection ended on its own and the server was marked failed (for tests and diagnostics).</summary>
    public event Action<McpServerConnection>? Disconnected;

    public McpServerState GetState()
    {
        lock (_gate)
        {
            return new McpServerState(Name, _status, _error, _status == McpServerStatus.Connected ? _tools.Count : 0);
        }
    }

    /// <summary>
    /// The server's tools: the cached list while connected and unchanged; otherwise connects and lists first.
    /// A failure is recorded in the state and gives an empty list.
    /// </summary>
    public async Task<IReadOnlyList<McpClientTool>> GetToolsAsync(CancellationToken cancellationToken = default)
    {
        if (!Config.Enabled)
        {
            return [];
        }

        Task<IReadOnlyList<McpClientTool>> attempt;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_isDisposed, this);
            if (_status == McpServerStatus.Connected && _client is not null && _toolsVersion == _listVersion)
            {
                return _tools;
            }

            attempt = _attempt ??= Task.Run(RunAttemptAsync, CancellationToken.None);
        }

        return await attempt.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<McpClientTool>> RunAttemptAsync()
    {
        McpClient? client;
        int version;
        lock (_gate)
        {
            client = _client;
            version = _listVersion;
            if (client is null)
            {
                _status = McpServerStatus.Connecting;
            }
        }

        bool created = false;
        using var timeout = new CancellationTokenSource(Config.ConnectTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _disposed.Token);
        try
        {
            if (client is null)
            {
                LogConnecting(Name, Config.IsStdio ? "stdio" : "http");
                client = await ConnectAsync(linked.Token).ConfigureAwait(false);
                created = true;
            }

            var listed = await client.ListToolsAsync(cancellationToken: linked.Token).ConfigureAwait(false);
            IReadOnlyList<McpClientTool> tools = listed.ToArray();
            bool disposedMeanwhile;
            lock (_gate)
            {
                disposedMeanwhile = _isDisposed;
                if (!disposedMeanwhile)
                {
                    _client = client;
                    _tools = tools;
                    _toolsVersion = version;
                    _status = McpServerStatus.Connected;
                    _error = null;
                    _attempt = null;
                }
            }

            if (disposedMeanwhile)
            {
                await DisposeQuietlyAsync(client).ConfigureAwait(false);
                return [];
            }

            if (created)
            {
                _ = WatchAsync(client);
                LogConnected(Name, tools.Count);
            }
            else
            {
                LogToolsRefreshed(Name, tools.Count);
            }

            return tools;
        }
        catch (Exception ex)
        {
            string error = timeout.IsCancellationRequested && !_disposed.IsCancellationRequested
                ? $"The server did not connect and list its tools within {Config.ConnectTimeout.TotalSeconds:0.###} s."
                : Describe(ex);
            McpClient? stale;
            lock (_gate)
            {
                stale = _client;
                _client = null;
                _tools = [];
                _attempt = null;
                if (!_isDisposed)
                {
                    _status = McpServerStatus.Failed;
                    _error = error;
                }
            }

            if (!_disposed.IsCancellationRequested)
            {
                LogFailed(ex, Name, error);
            }

            await DisposeQuietlyAsync(stale).ConfigureAwait(false);
            if (created)
            {
                await DisposeQuietlyAsync(client).ConfigureAwait(false);
            }

            return [];
        }
    }

    private async Task<McpClient> ConnectAsync(CancellationToken cancellationToken)
    {
        var transport = _transportFactory.Create(Name, Config, _sdkLoggerFactory);
        var options = new McpClientOptions
        {
            ClientInfo = ClientInfo,
            InitializationTimeout = Config.ConnectTimeout,
            TimeProvider = _timeProvider,
            Handlers = new McpClientHandlers
            {
                NotificationHandlers =
                [
                    new(NotificationMethods.ToolListChangedNotification, (_, _) =>
                    {
                        OnToolListChanged();
                        return ValueTask.CompletedTask;
                    }),
                ],
            },
        };
        McpClient client;
        try
        {
            client = await McpClient.CreateAsync(transport, options, _sdkLoggerFactory, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await DisposeTransportAsync(transport).ConfigureAwait(false);
            throw;
        }

        // The client disposes its session, not the transport that made it (the HTTP one owns an HttpClient):
        // release it once the session is over, however it ends.
        _ = client.Completion.ContinueWith(_ => DisposeTransportAsync(transport).AsTask(), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Unwrap();
        return client;
    }

    private async ValueTask DisposeTransportAsync(IClientTransport transport)
    {
        try
        {
            if (transport is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync().ConfigureAwait(false);
            }
            else if (transport is IDisposable syncDisposable)
            {
                syncDisposable.Dispose();
            }
        }
        catch (Exception ex)
        {
            LogDisposeFailed(ex, Name);
        }
    }

    private void OnToolListChanged()
    {
        lock (_gate)
        {
            _listVersion++;
        }

        LogToolListChanged(Name);
        ToolListChanged?.Invoke(this);
    }

    /// <summary>Marks the server failed when its connection ends on its own (the process exited, the network dropped).</summary>
    private async Task WatchAsync(McpClient client)
    {
        var details = await client.Completion.ConfigureAwait(false);
        string error;
        lock (_gate)
        {
            if (_client != client || _isDisposed)
            {
                return;
            }

            error = details is StdioClientCompletionDetails stdio
                ? "The server process exited." + DescribeExit(stdio)
                : details.Exception is { } ex ? "The server connection closed: " + Describe(ex) : "The server connection closed.";
            _client = null;
            _tools = [];
            _status = McpServerStatus.Failed;
            _error = error;
        }

        LogDisconnected(Name, error);
        await DisposeQuietlyAsync(client).ConfigureAwait(false);
        Disconnected?.Invoke(this);
    }

    public async ValueTask DisposeAsync()
    {
        McpClient? client;
        Task? attempt;
        lock (_gate)
        {
            if (_isDisposed)
            {
                return;
            }

            _isDisposed = true;
            client = _client;
            _client = null;
            _tools = [];
            attempt = _attempt;
        }

        await _disposed.CancelAsync().ConfigureAwait(false);
        if (attempt is not null)
        {
            // The attempt sees the cancellation and disposes what it created.
            await attempt.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await DisposeQuietlyAsync(client).ConfigureAwait(false);
        _disposed.Dispose();
    }

    private async ValueTask DisposeQuietlyAsync(McpClient? client)
    {
        if (client is null)
        {
            return;
        }

        try
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogDisposeFailed(ex, Name);
        }
    }

    /// <summary>The messages of an exception and its causes, without repeats: what the status shows.</summary>
    internal static string Describe(Exception exception)
    {
        var messages = new List<string>();
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            string message = ex.Message.Trim();
            if (message.Length > 0 && !messages.Contains(message, StringComparer.Ordinal))
            {
                messages.Add(message);
            }

            if (ex is AggregateException { InnerExceptions.Count: > 1 })
            {
                break;
            }
        }

        string text = messages.Count == 0 ? exception.GetType().Name : string.Join(" ", messages.Select(m => m.EndsWith('.') ? m : m + "."));
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            if (ex is ClientTransportClosedException { Details: StdioClientCompletionDetails details })
            {
                return text + DescribeExit(details);
            }
        }

        return text;
    }

    /// <summary>The exit code and the last lines the process wrote to stderr (where servers say why they stopped).</summary>
    private static string DescribeExit(StdioClientCompletionDetails details)
    {
        const int MaxLines = 5;
        const int MaxChars = 600;
        string text = details.ExitCode is { } code ? $" Exit code {code}." : "";
        if (details.StandardErrorTail is { Count: > 0 } tail)
        {
            string stderr = string.Join(" | ", tail.TakeLast(MaxLines).Select(line => line.Trim()).Where(line => line.Length > 0));
            if (stderr.Length > MaxChars)
            {
                stderr = "..." + stderr[^MaxChars..];
            }

            if (stderr.Length > 0)
            {
                text += " Its last output on stderr: " + stderr;
            }
        }

        return text;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "MCP server {Server} connecting over {Transport}")]
    private partial void LogConnecting(string server, string transport);

    [LoggerMessage(Level = LogLevel.Information, Message = "MCP server {Server} connected with {ToolCount} tools")]
    private partial void LogConnected(string server, int toolCount);

    [LoggerMessage(Level = LogLevel.Debug, Message = "MCP server {Server} now lists {ToolCount} tools")]
    private partial void LogToolsRefreshed(string server, int toolCount);

    [LoggerMessage(Level = LogLevel.Debug, Message = "MCP server {Server} says its tool list changed")]
    private partial void LogToolListChanged(string server);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server} failed; its tools are left out until it connects: {Error}")]
    private partial void LogFailed(Exception exception, string server, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server} disconnected; the next request reconnects: {Error}")]
    private partial void LogDisconnected(string server, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server} did not shut down cleanly")]
    private partial void LogDisposeFailed(Exception exception, string server);
}
