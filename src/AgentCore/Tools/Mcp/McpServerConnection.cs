using System.ComponentModel;
using System.Net.Sockets;
using System.Reflection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace AgentCore;

/// <summary>
/// One configured MCP server: connects on first use, keeps the listed tools until the server says they changed,
/// records why it failed and tries again after a back-off, and stops the server when disposed.
/// </summary>
/// <remarks>
/// <para>
/// Concurrent requests share one connection attempt. The attempt is bounded by <see cref="McpServerConfig.ConnectTimeout"/>
/// (the whole of it: starting the process, the handshake and the tool listing) and by disposal, not by the caller's
/// token: a caller that gives up stops waiting, the attempt goes on. Once the attempt has failed its waiters are
/// answered at once; stopping what it started (a stdio server gets a grace period to exit) goes on in the background
/// and <see cref="DisposeAsync"/> waits for it.
/// </para>
/// <para>
/// After a failed attempt the server is left out for <see cref="FirstRetryDelay"/>, doubling with every failure in a
/// row up to <see cref="MaxRetryDelay"/> (on the injected <see cref="TimeProvider"/>): requests in that time get no tools
/// at once, without a new attempt. A connection that was up and dropped is retried on the next request.
/// <see cref="IMcpServers.ConnectAsync"/> retries at once.
/// </para>
/// </remarks>
internal sealed partial class McpServerConnection : IAsyncDisposable
{
    /// <summary>How long a server is left out after its first failure in a row.</summary>
    internal static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>The longest a failed server is left out before the next attempt.</summary>
    internal static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(1);

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
    private readonly List<Task> _cleanups = [];

    private McpClient? _client;
    private IReadOnlyList<McpClientTool> _tools = [];
    private Task<IReadOnlyList<McpClientTool>>? _attempt;
    private McpServerStatus _status;
    private string? _error;
    private int _listVersion;
    private int _toolsVersion = -1;
    private int _failures;
    private DateTimeOffset _retryAt;
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
    /// The server's tools: the cached list while connected and unchanged; no tools, at once, while a failed server
    /// waits out its back-off (unless <paramref name="retryNow"/>); otherwise connects and lists first, within
    /// <see cref="McpServerConfig.ConnectTimeout"/>. A failure is recorded in the state and gives an empty list.
    /// </summary>
    /// <param name="retryNow">Whether to try a failed server now, ignoring its back-off (an explicit connect).</param>
    /// <param name="cancellationToken">Stops waiting; the attempt goes on.</param>
    public async Task<IReadOnlyList<McpClientTool>> GetToolsAsync(bool retryNow = false, CancellationToken cancellationToken = default)
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

            if (_attempt is null)
            {
                if (_status == McpServerStatus.Failed && !retryNow && _timeProvider.GetUtcNow() < _retryAt)
                {
                    return [];
                }

                // The clock starts now, before the attempt is scheduled: the timeout covers every wait of it.
                var timeout = new CancellationTokenSource(Config.ConnectTimeout, _timeProvider);
                if (_client is null)
                {
                    _status = McpServerStatus.Connecting;
                }

                _attempt = Task.Run(() => RunAttemptAsync(timeout), CancellationToken.None);
            }

            attempt = _attempt;
        }

        return await attempt.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<McpClientTool>> RunAttemptAsync(CancellationTokenSource timeout)
    {
        McpClient? existing;
        int version;
        lock (_gate)
        {
            existing = _client;
            version = _listVersion;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _disposed.Token);
        var work = ConnectAndListAsync(existing, linked.Token);
        try
        {
            // Waits for the work or the timeout, whichever comes first: a transport that takes its time to give up
            // (a process that ignores its closed input is killed only after a grace period) does not hold the turn.
            var (client, tools, created) = await work.WaitAsync(linked.Token).ConfigureAwait(false);
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
                    _failures = 0;
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
            bool timedOut = timeout.IsCancellationRequested && !_disposed.IsCancellationRequested;
            string error = timedOut
                ? $"The server did not connect and list its tools within {Config.ConnectTimeout.TotalSeconds:0.###} s."
                : Describe(ex);
            McpClient? stale;
            TimeSpan delay;
            lock (_gate)
            {
                stale = _client;
                _client = null;
                _tools = [];
                _attempt = null;
                _failures++;
                delay = RetryDelay(_failures);
                _retryAt = _timeProvider.GetUtcNow() + delay;
                if (!_isDisposed)
                {
                    _status = McpServerStatus.Failed;
                    _error = error;
                }

                // What the attempt started is stopped in the background; disposal waits for it.
                _cleanups.RemoveAll(static task => task.IsCompleted);
                _cleanups.Add(CleanUpAsync(work, stale));
            }

            if (!_disposed.IsCancellationRequested)
            {
                LogFailed(Name, timedOut ? error : LogReason(ex), delay.TotalSeconds);
                LogFailureDetails(ex, Name, error);
            }

            return [];
        }
        finally
        {
            timeout.Dispose();
        }
    }

    /// <summary>The back-off after <paramref name="failures"/> failed attempts in a row: 1 s, 2 s, 4 s ... up to <see cref="MaxRetryDelay"/>.</summary>
    internal static TimeSpan RetryDelay(int failures)
    {
        int doublings = Math.Clamp(failures - 1, 0, 30);
        double seconds = Math.Min(FirstRetryDelay.TotalSeconds * Math.Pow(2, doublings), MaxRetryDelay.TotalSeconds);
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>Connects (unless <paramref name="existing"/> is given) and lists the tools; disposes what it connected if listing fails.</summary>
    private async Task<(McpClient Client, IReadOnlyList<McpClientTool> Tools, bool Created)> ConnectAndListAsync(McpClient? existing, CancellationToken cancellationToken)
    {
        McpClient client = existing ?? await ConnectWithLogAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var listed = await client.ListToolsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return (client, listed.ToArray(), existing is null);
        }
        catch when (existing is null)
        {
            await DisposeQuietlyAsync(client).ConfigureAwait(false);
            throw;
        }
    }

    private Task<McpClient> ConnectWithLogAsync(CancellationToken cancellationToken)
    {
        LogConnecting(Name, Config.IsStdio ? "stdio" : "http");
        return ConnectAsync(cancellationToken);
    }

    /// <summary>After a failed attempt: lets its work finish, disposes the client it made if it made one after all, and the stale one.</summary>
    private async Task CleanUpAsync(Task<(McpClient Client, IReadOnlyList<McpClientTool> Tools, bool Created)> work, McpClient? stale)
    {
        await DisposeQuietlyAsync(stale).ConfigureAwait(false);
        try
        {
            var (client, _, created) = await work.ConfigureAwait(false);
            if (created)
            {
                await DisposeQuietlyAsync(client).ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            // The attempt's own failure, already reported, or its cancellation once it was given up on.
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

            // It was up: the next request reconnects at once; a failed reconnect backs off from there.
            _retryAt = _timeProvider.GetUtcNow();
        }

        LogDisconnected(Name, details is StdioClientCompletionDetails { ExitCode: { } code } ? $"its process exited with code {code}" : "its connection closed");
        LogFailureDetails(details.Exception, Name, error);
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
        Task[] cleanups;
        lock (_gate)
        {
            cleanups = _cleanups.ToArray();
            _cleanups.Clear();
        }

        await Task.WhenAll(cleanups).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
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

    /// <summary>
    /// Why an attempt failed, as the warning says it: the exit code of a process that exited, the runtime's own message
    /// for a process that could not start or a network failure, otherwise the kinds of exception. Never a message the
    /// SDK built from what the server wrote (its stderr tail may hold the server's token); <see cref="Describe"/> has those.
    /// </summary>
    internal static string LogReason(Exception exception)
    {
        var kinds = new List<string>();
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            switch (ex)
            {
                case ClientTransportClosedException { Details: StdioClientCompletionDetails details }:
                    return details.ExitCode is { } code ? $"its process exited with code {code}" : "its process exited";
                case Win32Exception or SocketException or HttpRequestException:
                    return ex.Message.Trim();
            }

            kinds.Add(ex.GetType().Name);
        }

        return string.Join(" <- ", kinds.Distinct(StringComparer.Ordinal));
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

    // The warnings are content-free: a server's stderr (which may print its own token) and the messages the SDK builds
    // from it appear at Debug only, in LogFailureDetails.
    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server} failed ({Reason}); its tools are left out for {RetrySeconds} s, then it is tried again")]
    private partial void LogFailed(string server, string reason, double retrySeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server} disconnected ({Reason}); the next request reconnects")]
    private partial void LogDisconnected(string server, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "MCP server {Server} failure details: {Error}")]
    private partial void LogFailureDetails(Exception? exception, string server, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server} did not shut down cleanly")]
    private partial void LogDisposeFailed(Exception exception, string server);
}
