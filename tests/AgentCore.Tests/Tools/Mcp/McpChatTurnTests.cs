using FluentAssertions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace AgentCore.Tests.Tools.Mcp;

/// <summary>Full chat turns whose tools are served by the real server-everything, driven by a scripted model.</summary>
public sealed class McpChatTurnTests
{
    [Test]
    public async Task ChatAsync_ModelCallsEchoAndGetSum_RealServerAnswersAndTheModelSeesTheResults()
    {
        var client = McpChatTurn.EchoAndSumScript(message: "hello from the turn", a: 2, b: 3);
        await using var provider = McpChatTurn.Build(client);
        var sessions = provider.GetRequiredService<ISessionService>();
        var session = await sessions.CreateAsync();

        var reply = await sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "Use the tools." });

        reply.Error.Should().BeNull();
        reply.Text.Should().Be("Done.");
        var parts = McpChatTurn.ToolParts(await sessions.GetMessagesAsync(session.Id));
        parts["call_echo"].State.Should().Be(ToolState.Completed);
        parts["call_echo"].Output.Should().Contain("hello from the turn");
        parts["call_sum"].State.Should().Be(ToolState.Completed);
        parts["call_sum"].Output.Should().Contain("5");
        parts.Values.Should().OnlyContain(p => p.StartedAt != null && p.EndedAt != null && p.EndedAt >= p.StartedAt);

        client.Calls[0].Options!.Tools!.Select(t => t.Name).Should().Contain(["everything_echo", "everything_get-sum"]);
        var results = client.Calls[1].Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().ToDictionary(r => r.CallId, r => r.Result as string);
        results["call_echo"].Should().Contain("hello from the turn");
        results["call_sum"].Should().Contain("5");
    }

    [Test]
    public async Task ChatAsync_FailingServerBesideTheWorkingOne_TurnUsesTheWorkingServerAndNoProcessIsLeft()
    {
        McpTestServers.RequireProc();
        string marker = McpTestServers.NewMarker();
        var client = McpChatTurn.EchoAndSumScript(message: "still works");
        var provider = McpTestHost.Build(
            b => b.AddChatClient(McpChatTurn.ProviderId, client, [McpChatTurn.Model])
                .AddMcpServer("broken", new McpServerConfig { Command = "agentcore-no-such-mcp-server-command" })
                .AddServerEverything(marker: marker),
            options: o => { o.DefaultModel = McpChatTurn.Model.Reference; o.GenerateTitles = false; });
        IReadOnlyList<int> running;
        try
        {
            var sessions = provider.GetRequiredService<ISessionService>();
            var session = await sessions.CreateAsync();

            var reply = await sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "Use the tools." });

            reply.Error.Should().BeNull();
            McpChatTurn.ToolParts(await sessions.GetMessagesAsync(session.Id))["call_echo"].Output.Should().Contain("still works");
            var status = provider.GetRequiredService<IMcpServers>().GetStatus();
            status.Single(s => s.Name == "broken").Status.Should().Be(McpServerStatus.Failed);
            client.Calls[0].Options!.Tools!.Select(t => t.Name).Should().NotContain(n => n.StartsWith("broken_", StringComparison.Ordinal));
            running = McpTestServers.FindProcesses(marker);
        }
        finally
        {
            await provider.DisposeAsync();
        }

        running.Should().NotBeEmpty("the server ran during the turn");
        (await McpTestServers.StillAliveAsync(running)).Should().BeEmpty();
        McpTestServers.FindProcesses(marker).Should().BeEmpty();
    }
}
