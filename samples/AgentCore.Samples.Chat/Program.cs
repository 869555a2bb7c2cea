using AgentCore;
using AgentCore.Samples.Chat;
using Microsoft.Extensions.DependencyInjection;

// AgentCore's first sample. It registers AgentCore with an offline demo model (no key, no network),
// resolves the services an app gets, and shows what is registered and stored.
string dataDirectory = Path.Combine(Path.GetTempPath(), "agentcore-sample");

var services = new ServiceCollection();
services
    .AddAgentCore(options =>
    {
        // By default sessions live in your local application data folder; the sample keeps its own apart.
        options.DataDirectory = dataDirectory;
        options.DefaultModel = OfflineDemoChatClient.Model.Reference;
    })
    .AddChatClient(OfflineDemoChatClient.ProviderId, new OfflineDemoChatClient(), [OfflineDemoChatClient.Model]);

await using var provider = services.BuildServiceProvider();
var models = provider.GetRequiredService<IModelProvider>();
var store = provider.GetRequiredService<ISessionStore>();

Console.WriteLine("AgentCore sample. Models registered:");
foreach (var model in models.ListModels())
{
    Console.WriteLine($"  {model.Reference}: context window {model.ContextWindow:N0} tokens, replies up to {model.MaxOutputTokens:N0}");
}

int stored = 0;
await foreach (var session in store.ListSessionsAsync())
{
    stored++;
}

Console.WriteLine($"Sessions stored in {dataDirectory}: {stored}");

// ---------------------------------------------------------------------------------------------------------
// THE CHAT LOOP GOES HERE, once the engine (the ISessionService implementation) lands:
// resolve ISessionService, create a session, then for each line the user types stream
// ChatStreamingAsync(new ChatRequest { SessionId = ..., Text = line }) and print every TextDelta.
// ---------------------------------------------------------------------------------------------------------
Console.WriteLine("The chat loop comes with the engine (ISessionService).");
