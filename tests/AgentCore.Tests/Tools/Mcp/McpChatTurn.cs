using AgentCore.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCore.Tests.Tools.Mcp;

/// <summary>
/// Ready-made pieces for a full chat turn against the real server-everything, driven by a scripted model:
/// the first model call asks for <c>everything_echo</c> and <c>everything_get-sum</c>, the second answers in text.
/// </summary>
/// <example>
/// <code>
/// var client = McpChatTurn.EchoAndSumScript(message: "hello", a: 2, b: 3);
/// await using var provider = McpChatTurn.Build(client);
/// var sessions = provider.GetRequiredService&lt;ISessionService&gt;();
/// var session = await sessions.CreateAsync();
/// var reply = await sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "Use the tools." });
/// var parts = McpChatTurn.ToolParts(await sessions.GetMessagesAsync(session.Id));
/// // parts["call_echo"].Output contains "hello"; parts["call_sum"].Output contains "5"; both Completed, with StartedAt/EndedAt.
/// // client.Calls[1].Messages holds the tool results the model saw.
/// </code>
/// </example>
internal static class McpChatTurn
{
    /// <summary>The provider id the scripted client is registered under.</summary>
    public const string ProviderId = "scripted";

    /// <summary>The scripted model.</summary>
    public static ModelInfo Model { get; } = new(ProviderId, "model", contextWindow: 100_000, maxOutputTokens: 4_000);

    /// <summary>Step 1 calls echo and get-sum (call ids <c>call_echo</c>, <c>call_sum</c>); step 2 answers "Done.".</summary>
    public static ScriptedChatClient EchoAndSumScript(string message = "hello", int a = 2, int b = 3) => new ScriptedChatClient()
        .Enqueue(r => r
            .ToolCall("call_echo", "everything_echo", new { message })
            .ToolCall("call_sum", "everything_get-sum", new { a, b })
            .Usage(input: 120, output: 24)
            .Finish(ChatFinishReason.ToolCalls))
        .Enqueue(r => r.Text("Done.").Usage(input: 180, output: 3).Finish(ChatFinishReason.Stop));

    /// <summary>
    /// A service provider with <paramref name="client"/> as the default model and server-everything as <c>everything</c>
    /// (skips the test where Node.js is absent). Pass <paramref name="marker"/> to find the server's process afterwards.
    /// </summary>
    public static ServiceProvider Build(ScriptedChatClient client, string? marker = null) =>
        McpTestHost.Build(
            b => b.AddChatClient(ProviderId, client, [Model]).AddServerEverything(marker: marker),
            options: o => { o.DefaultModel = Model.Reference; o.GenerateTitles = false; });

    /// <summary>The tool parts of <paramref name="messages"/>, by call id.</summary>
    public static IReadOnlyDictionary<string, ToolPart> ToolParts(IEnumerable<SessionMessage> messages) =>
        messages.SelectMany(m => m.Parts).OfType<ToolPart>().ToDictionary(p => p.CallId);
}
