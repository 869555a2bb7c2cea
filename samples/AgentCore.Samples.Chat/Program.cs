using System.Globalization;
using AgentCore;
using AgentCore.Samples.Chat;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

// AgentCore's console chat: an interactive chat (or one question with --prompt) over durable sessions.
// Claude through Anthropic's SDK when ANTHROPIC_API_KEY is set, otherwise an offline demo model.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

var arguments = SampleArguments.Parse(args, out string? error);
if (arguments is null || arguments.Help)
{
    (arguments is null ? Console.Error : Console.Out).WriteLine(error is null ? SampleArguments.Usage : $"{error}\n\n{SampleArguments.Usage}");
    return arguments is null ? 2 : 0;
}

try
{
    var model = ChatModels.Choose(Environment.GetEnvironmentVariable("ANTHROPIC_API_KEY"), arguments.Model);

    // By default sessions live in AgentCoreOptions.DataDirectory (your local application data folder + agentcore).
    string dataDirectory = arguments.DataDirectory ?? new AgentCoreOptions().DataDirectory;
    var services = new ServiceCollection();
    if (arguments.Verbose)
    {
        StderrLoggerFactory.Register(services);
    }

    var agentCore = services
        .AddAgentCore(options =>
        {
            options.DataDirectory = dataDirectory;
            options.DefaultModel = model.Model;
            options.TitleModel = model.TitleModel;
        })
        .AddChatClient(model.ProviderId, model.CreateClient, model.Models)
        .AddTool(LocalTools.GetTime(TimeProvider.System));
    // save_note writes a file, so every call waits for your y/n (see ChatApp.AnswerApprovalsAsync).
    agentCore.AddTool(LocalTools.SaveNote(dataDirectory));

    if (arguments.McpCommand is { } mcp)
    {
        // One MCP server over stdio; its tools are named mcp_<tool>. It gets a clean environment, not this app's secrets.
        var words = SampleArguments.SplitCommandLine(mcp);
        agentCore.AddMcpServer("mcp", new McpServerConfig { Command = words.FirstOrDefault(), Arguments = words.Skip(1).ToList() });
    }

    await using var provider = services.BuildServiceProvider();
    await using var chat = new ChatApp(provider, model, Console.Out);
    Console.CancelKeyPress += (_, e) => e.Cancel = chat.AbortRunningTurn();

    await chat.StartAsync(arguments.Resume);
    return arguments.Prompt is { } prompt
        ? await chat.RunOnceAsync(prompt, Console.In)
        : await chat.RunInteractiveAsync(Console.In, echo: Console.IsInputRedirected);
}
catch (Exception ex) when (ex is ArgumentException or OptionsValidationException)
{
    // A bad argument or setting: the message says which (and never holds the API key).
    Console.Error.WriteLine($"error: {ex.Message}");
    return 2;
}
