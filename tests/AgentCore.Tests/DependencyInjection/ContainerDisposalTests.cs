using AgentCore.TestInfrastructure;
using AgentCore.Tests.Tools.Mcp;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCore.Tests.DependencyInjection;

/// <summary>Disposing the container of an app on the default file store, synchronously and asynchronously.</summary>
public sealed class FileStoreContainerDisposalTests : ContainerDisposalTests
{
    protected override void UseStore(IAgentCoreBuilder builder)
    {
        // The default: the file store and the JSONL history in DataDirectory.
    }
}

/// <summary>Disposing the container of an app on <c>UseInMemoryStore</c>; the test's providers share one store instance.</summary>
public sealed class InMemoryContainerDisposalTests : ContainerDisposalTests
{
    private InMemorySessionStore _store = null!;

    protected override Task SetUpStoreAsync()
    {
        _store = new InMemorySessionStore();
        return Task.CompletedTask;
    }

    protected override void UseStore(IAgentCoreBuilder builder) => builder.UseSessionStore(_ => _store);
}

/// <summary>
/// Disposing the container of an app with an MCP server (the real server-everything over stdio), synchronously and
/// asynchronously: every case of the suite runs with the server started by the turn, and no server process is left.
/// </summary>
public sealed class McpContainerDisposalTests : ContainerDisposalTests
{
    private string _marker = null!;

    protected override Task SetUpStoreAsync()
    {
        McpTestServers.RequireServerEverything();
        _marker = McpTestServers.NewMarker();
        return Task.CompletedTask;
    }

    protected override void UseStore(IAgentCoreBuilder builder) => builder.AddServerEverything(marker: _marker);

    [Test]
    public async Task Dispose_AfterATurnThatCalledAnMcpTool_NoServerProcessLeft([Values] bool synchronously)
    {
        McpTestServers.RequireProc();
        var client = new ScriptedChatClient();
        client.Enqueue(r => r.ToolCall("call-1", "everything_echo", new { message = "ping" }));
        client.EnqueueText("done");
        var provider = BuildProvider(client);
        var sessions = provider.GetRequiredService<ISessionService>();
        var session = await sessions.CreateAsync();
        var reply = await sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "echo ping" });
        var running = McpTestServers.FindProcesses(_marker);

        await DisposeAsync(provider, synchronously);

        reply.Parts.OfType<ToolPart>().Single().State.Should().Be(ToolState.Completed, "the tool ran on the real server");
        running.Should().ContainSingle("the server was running before the provider was disposed");
        (await McpTestServers.StillAliveAsync(running)).Should().BeEmpty();
        McpTestServers.FindProcesses(_marker).Should().BeEmpty();
    }
}
