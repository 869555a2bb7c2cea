using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentCore.Tests.Tools.Mcp;

/// <summary>
/// An MCP server that runs inside the test process and talks to the client over in-memory pipes: the SDK's own server
/// (<see cref="McpServer"/> over <see cref="StreamServerTransport"/>) with a tool list the test controls.
/// Every <see cref="CreateTransport"/> is a fresh connection (a fresh server session).
/// </summary>
internal sealed class InProcessMcpServer : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<(Tool Tool, Func<IReadOnlyDictionary<string, JsonElement>, CallToolResult> Handler)> _tools = [];
    private readonly List<Session> _sessions = [];

    /// <summary>Every call the server received: its own tool name and the arguments.</summary>
    public ConcurrentQueue<(string Tool, IReadOnlyDictionary<string, JsonElement> Arguments)> Calls { get; } = new();

    /// <summary>How many connections were made.</summary>
    public int ConnectionCount
    {
        get { lock (_gate) { return _sessions.Count; } }
    }

    /// <summary>Adds a tool; <paramref name="handler"/> answers its calls.</summary>
    public InProcessMcpServer AddTool(string name, Func<IReadOnlyDictionary<string, JsonElement>, CallToolResult> handler,
        string description = "A test tool.", string inputSchema = """{"type":"object"}""")
    {
        var tool = new Tool { Name = name, Description = description, InputSchema = JsonDocument.Parse(inputSchema).RootElement.Clone() };
        lock (_gate)
        {
            _tools.Add((tool, handler));
        }

        return this;
    }

    /// <summary>Adds a tool that answers with a fixed text.</summary>
    public InProcessMcpServer AddTextTool(string name, string text) =>
        AddTool(name, _ => new CallToolResult { Content = [new TextContentBlock { Text = text }] });

    /// <summary>Removes a tool (call <see cref="NotifyToolListChangedAsync"/> to tell clients).</summary>
    public void RemoveTool(string name)
    {
        lock (_gate)
        {
            _tools.RemoveAll(t => t.Tool.Name == name);
        }
    }

    /// <summary>A client transport connected to a new session of this server.</summary>
    public IClientTransport CreateTransport()
    {
        var clientToServer = new Pipe();
        var serverToClient = new Pipe();
        var serverTransport = new StreamServerTransport(clientToServer.Reader.AsStream(), serverToClient.Writer.AsStream(), "in-process");
        var options = new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "in-process-test-server", Version = "1.0.0" },
            Capabilities = new ServerCapabilities { Tools = new ToolsCapability { ListChanged = true } },
            Handlers = new McpServerHandlers
            {
                ListToolsHandler = (_, _) =>
                {
                    lock (_gate)
                    {
                        return ValueTask.FromResult(new ListToolsResult { Tools = _tools.Select(t => t.Tool).ToList() });
                    }
                },
                CallToolHandler = (context, _) =>
                {
                    var request = context.Params!;
                    var arguments = (IReadOnlyDictionary<string, JsonElement>)(request.Arguments is null
                        ? new Dictionary<string, JsonElement>()
                        : new Dictionary<string, JsonElement>(request.Arguments));
                    Calls.Enqueue((request.Name, arguments));
                    Func<IReadOnlyDictionary<string, JsonElement>, CallToolResult>? handler;
                    lock (_gate)
                    {
                        handler = _tools.FirstOrDefault(t => t.Tool.Name == request.Name).Handler;
                    }

                    return ValueTask.FromResult(handler is null
                        ? new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = $"Unknown tool {request.Name}" }] }
                        : handler(arguments));
                },
            },
        };

        var server = McpServer.Create(serverTransport, options, loggerFactory: null);
        var run = server.RunAsync();
        lock (_gate)
        {
            _sessions.Add(new Session(server, run, serverToClient.Writer));
        }

        return new StreamClientTransport(clientToServer.Writer.AsStream(), serverToClient.Reader.AsStream(), loggerFactory: null);
    }

    /// <summary>Sends <c>notifications/tools/list_changed</c> on the latest connection.</summary>
    public async Task NotifyToolListChangedAsync()
    {
        Session session;
        lock (_gate)
        {
            session = _sessions[^1];
        }

        await session.Server.SendNotificationAsync(NotificationMethods.ToolListChangedNotification);
    }

    /// <summary>Ends the latest connection from the server's side, as a crashed server would.</summary>
    public async Task DropLatestConnectionAsync()
    {
        Session session;
        lock (_gate)
        {
            session = _sessions[^1];
        }

        await session.Output.CompleteAsync();
        await session.Server.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Session[] sessions;
        lock (_gate)
        {
            sessions = _sessions.ToArray();
        }

        foreach (var session in sessions)
        {
            await session.Output.CompleteAsync();
            await session.Server.DisposeAsync();
            await session.Run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private sealed record Session(McpServer Server, Task Run, PipeWriter Output);
}

/// <summary>A transport whose connection always fails, like a server that cannot start.</summary>
internal sealed class FailingTransport(string message) : IClientTransport
{
    public string Name => "failing";

    public Task<ITransport> ConnectAsync(CancellationToken cancellationToken = default) =>
        Task.FromException<ITransport>(new IOException(message));
}

/// <summary>
/// A transport that connects but never answers, and whose shutdown waits until the test releases it: like a stdio
/// server that ignores its closed input and is killed only after a grace period.
/// </summary>
internal sealed class HangingTransport : IClientTransport
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the client has the connection (and sends its handshake into the void).</summary>
    public TaskCompletionSource Connected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the client starts shutting the connection down.</summary>
    public TaskCompletionSource ShutdownStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Name => "hanging";

    public void ReleaseShutdown() => _release.TrySetResult();

    public Task<ITransport> ConnectAsync(CancellationToken cancellationToken = default)
    {
        Connected.TrySetResult();
        return Task.FromResult<ITransport>(new Session(this));
    }

    private sealed class Session(HangingTransport owner) : ITransport
    {
        private readonly Channel<JsonRpcMessage> _messages = Channel.CreateUnbounded<JsonRpcMessage>();

        public string? SessionId => null;

        public ChannelReader<JsonRpcMessage> MessageReader => _messages.Reader;

        public Task SendMessageAsync(JsonRpcMessage message, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public async ValueTask DisposeAsync()
        {
            owner.ShutdownStarted.TrySetResult();
            await owner._release.Task;
            _messages.Writer.TryComplete();
        }
    }
}

/// <summary>
/// Transports for tests: a server name maps to a function giving the next transport; names not mapped get the real
/// stdio and HTTP transports.
/// </summary>
internal sealed class TestTransportFactory : IMcpClientTransportFactory
{
    private readonly ConcurrentDictionary<string, Func<IClientTransport>> _servers = new(StringComparer.Ordinal);
    private readonly McpClientTransportFactory _real = new();

    public int CreatedCount;

    public TestTransportFactory Map(string serverName, Func<IClientTransport> create)
    {
        _servers[serverName] = create;
        return this;
    }

    public TestTransportFactory Map(string serverName, InProcessMcpServer server) => Map(serverName, server.CreateTransport);

    public IClientTransport Create(string serverName, McpServerConfig config, ILoggerFactory loggerFactory)
    {
        Interlocked.Increment(ref CreatedCount);
        return _servers.TryGetValue(serverName, out var create) ? create() : _real.Create(serverName, config, loggerFactory);
    }
}

/// <summary>Wraps a transport and records its disposal (the client does not dispose the transport that made its session).</summary>
internal sealed class DisposableTransport(IClientTransport inner) : IClientTransport, IAsyncDisposable
{
    public TaskCompletionSource Disposed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Name => inner.Name;

    public Task<ITransport> ConnectAsync(CancellationToken cancellationToken = default) => inner.ConnectAsync(cancellationToken);

    public ValueTask DisposeAsync()
    {
        Disposed.TrySetResult();
        return ValueTask.CompletedTask;
    }
}
