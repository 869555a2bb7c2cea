using AgentCore.Tests.Support;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AgentCore.Tests.DependencyInjection;

/// <summary>
/// <c>AddAgentCore(IConfiguration)</c> the way a generic-host app uses it: <c>Host.CreateApplicationBuilder</c> reading an
/// appsettings.json from a temp content root; and the defaults that depend on the app (data folder, context files).
/// </summary>
public sealed class AgentCoreConfigurationTests
{
    private TempDirectory _temp = null!;

    [SetUp]
    public void SetUp() => _temp = new TempDirectory();

    [TearDown]
    public void TearDown() => _temp.Dispose();

    /// <summary>A host over <c>appsettings.json</c> = <paramref name="json"/>, with AgentCore bound from its <c>AgentCore</c> section.</summary>
    private IHost BuildHost(string json, string? applicationName = null, Action<IAgentCoreBuilder>? build = null)
    {
        File.WriteAllText(_temp.Combine("appsettings.json"), json);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = _temp.Path,
            ApplicationName = applicationName,
            Args = [],
        });
        var agentCore = builder.Services.AddAgentCore(builder.Configuration.GetSection("AgentCore"));
        build?.Invoke(agentCore);
        return builder.Build();
    }

    private static AgentCoreOptions OptionsOf(IHost host) => host.Services.GetRequiredService<IOptions<AgentCoreOptions>>().Value;

    private string Json(string agentCoreSection) =>
        $$"""{ "AgentCore": { "DataDirectory": {{System.Text.Json.JsonSerializer.Serialize(_temp.Combine("data"))}}{{agentCoreSection}} } }""";

    [Test]
    public void AddAgentCore_AppSettings_BindsTheSettingsAndABoundListReplacesTheDefault()
    {
        using var host = BuildHost(Json("""
            , "DefaultModel": "test/model-1", "MaxSteps": 7, "CompactionThreshold": 0.5, "ParallelToolCalls": true,
            "ContextFileNames": [ "CLAUDE.md" ],
            "McpServers": { "files": { "Command": "mcp-files", "Arguments": [ "--root", "/srv" ] } }
            """));

        var options = OptionsOf(host);

        options.DataDirectory.Should().Be(_temp.Combine("data"));
        options.DefaultModel.Should().Be("test/model-1");
        options.MaxSteps.Should().Be(7);
        options.CompactionThreshold.Should().Be(0.5);
        options.ParallelToolCalls.Should().BeTrue();
        options.ContextFileNames.Should().Equal("CLAUDE.md");
        options.McpServers.Should().ContainKey("files").WhoseValue.Arguments.Should().Equal("--root", "/srv");
    }

    [Test]
    public void AddAgentCore_NoContextFileNamesConfigured_DefaultsToAgentsMd()
    {
        using var host = BuildHost(Json(""));

        OptionsOf(host).ContextFileNames.Should().Equal("AGENTS.md");
    }

    [Test]
    public void AddAgentCore_ConfigureAfterBinding_CodeWinsOverConfiguration()
    {
        File.WriteAllText(_temp.Combine("appsettings.json"), Json(""", "MaxSteps": 7"""));
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _temp.Path, Args = [] });
        builder.Services.AddAgentCore(builder.Configuration.GetSection("AgentCore"), o => o.MaxSteps = 3);
        using var host = builder.Build();

        OptionsOf(host).MaxSteps.Should().Be(3);
    }

    [Test]
    public async Task StartAsync_OutOfRangeValueInAppSettings_FailsNamingTheSettingAndTheValue()
    {
        using var host = BuildHost(Json(""", "MaxSteps": 0"""));

        var start = () => host.StartAsync();

        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("MaxSteps").And.Contain("0");
    }

    [Test]
    public async Task StartAsync_ValueOfTheWrongTypeInAppSettings_FailsNamingTheSettingAndTheValue()
    {
        using var host = BuildHost(Json(""", "MaxSteps": "many" """));

        var start = () => host.StartAsync();

        (await start.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("AgentCore:MaxSteps").And.Contain("many");
    }

    [Test]
    public void AddAgentCore_TwoHostsWithoutDataDirectory_EachGetsAFolderNamedAfterItsApplicationUnderAgentcore()
    {
        using var first = BuildHost("{}", applicationName: "Support Bot");
        using var second = BuildHost("{}", applicationName: "Chat.Sample");

        string root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "agentcore");
        OptionsOf(first).DataDirectory.Should().Be(Path.Combine(root, "Support_Bot"));
        OptionsOf(second).DataDirectory.Should().Be(Path.Combine(root, "Chat.Sample"));
    }

    [Test]
    public void AddAgentCore_NoHost_DataDirectoryNamedAfterTheEntryAssembly()
    {
        using var provider = new ServiceCollection().AddAgentCore().Services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<AgentCoreOptions>>().Value;

        options.DataDirectory.Should().Be(Path.Combine(AgentCoreOptions.DefaultDataRoot, System.Reflection.Assembly.GetEntryAssembly()!.GetName().Name!));
    }

    [Test]
    public void AddAgentCore_DataDirectoryConfigured_ApplicationNameIgnored()
    {
        using var host = BuildHost(Json(""), applicationName: "Support Bot");

        OptionsOf(host).DataDirectory.Should().Be(_temp.Combine("data"));
    }

    [TestCase("Support Bot", "Support_Bot")]
    [TestCase("tools/agent:v2", "tools_agent_v2")]
    [TestCase("..", "default")]
    [TestCase("  ", "default")]
    [TestCase(null, "default")]
    [TestCase("MyApp.Web", "MyApp.Web")]
    public void FolderName_ApplicationName_OneSafeFolderName(string? applicationName, string expected) =>
        AgentCoreOptions.FolderName(applicationName).Should().Be(expected);

    [Test]
    public void UseModelProvider_Generic_ReplacesTheDefaultProvider()
    {
        using var host = BuildHost(Json(""), build: b => b.UseModelProvider<FixedModelProvider>());

        host.Services.GetRequiredService<IModelProvider>().Should().BeOfType<FixedModelProvider>();
    }

    [Test]
    public async Task UseModelProvider_Factory_TurnsRunOnItsModels()
    {
        var client = new ScriptedChatClient().EnqueueText("from the custom provider");
        var provider = new FixedModelProvider(client);
        await using var services = new ServiceCollection()
            .AddAgentCore(o =>
            {
                o.DataDirectory = _temp.Path;
                o.GenerateTitles = false;
            })
            .UseModelProvider(_ => provider)
            .Services.BuildServiceProvider();
        var sessions = services.GetRequiredService<ISessionService>();
        var session = await sessions.CreateAsync();

        var reply = await sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "hi" });

        reply.Text.Should().Be("from the custom provider");
        reply.ProviderId.Should().Be("custom");
        services.GetRequiredService<IModelProvider>().Should().BeSameAs(provider);
    }

    private sealed class FixedModelProvider(IChatClient client) : IModelProvider
    {
        private static readonly ModelInfo Model = new("custom", "fixed", 100_000, 4_000);

        public FixedModelProvider()
            : this(new ScriptedChatClient())
        {
        }

        public ValueTask<ResolvedModel> GetModelAsync(string providerId, string modelId, CancellationToken cancellationToken = default) =>
            providerId == Model.ProviderId && modelId == Model.ModelId
                ? ValueTask.FromResult(new ResolvedModel(Model, client))
                : throw new ModelNotFoundException(providerId, modelId, [Model.Reference]);

        public IReadOnlyList<ModelInfo> ListModels() => [Model];
    }
}
