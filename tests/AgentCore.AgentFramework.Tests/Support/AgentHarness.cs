using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AgentCore.AgentFramework.Tests.Support;

/// <summary>
/// AgentCore over a <see cref="ScriptedChatClient"/> in a temp data folder (file store, as in production), with a
/// <c>get_weather</c> tool and an agent registered as <c>"assistant"</c>. <see cref="Restart"/> builds a new service
/// provider on the same folder, as an app does after a restart.
/// </summary>
internal sealed class AgentHarness : IAsyncDisposable
{
    public static readonly ModelPricing Pricing = new(InputPerMillion: 3m, OutputPerMillion: 15m, CacheReadPerMillion: 0.3m, CacheWritePerMillion: 3.75m);

    private readonly Action<AgentCoreOptions>? _configure;
    private ServiceProvider _provider;

    public AgentHarness(Action<AgentCoreOptions>? configure = null)
    {
        _configure = configure;
        DataDirectory = Directory.CreateTempSubdirectory("agentcore-maf-").FullName;
        _provider = Build();
    }

    public string DataDirectory { get; }

    public ScriptedChatClient Client { get; private set; } = new();

    /// <summary>Answers title requests when titles are on (provider <c>titles</c>).</summary>
    public ScriptedChatClient TitleClient { get; private set; } = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));

    public int WeatherCalls;

    public IServiceProvider Services => _provider;

    public ISessionService Sessions => _provider.GetRequiredService<ISessionService>();

    public ISessionStore Store => _provider.GetRequiredService<ISessionStore>();

    public AIAgent Agent => _provider.GetRequiredKeyedService<AIAgent>("assistant");

    public async Task RestartAsync()
    {
        await _provider.DisposeAsync();
        Client = new ScriptedChatClient();
        TitleClient = new ScriptedChatClient();
        _provider = Build();
    }

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [System.ComponentModel.Description("Gets the weather in a city.")]
    private string GetWeather(string city)
    {
        Interlocked.Increment(ref WeatherCalls);
        return $"21 °C and sunny in {city}";
    }

    private ServiceProvider Build()
    {
        var services = new ServiceCollection();
        var builder = services.AddAgentCore(o =>
        {
            o.DataDirectory = DataDirectory;
            o.DefaultModel = "test/model-1";
            o.GenerateTitles = false;
            o.IncludeEnvironment = false;
            o.IncludeContextFiles = false;
            _configure?.Invoke(o);
        });
        var client = Client;
        var titles = TitleClient;
        builder.AddChatClient("test", _ => client, [new ModelInfo("test", "model-1", 200_000, 8_000, Pricing)]);
        builder.AddChatClient("titles", _ => titles, [new ModelInfo("titles", "title-1", 8_000, 1_000)]);
        builder.AddTool(AIFunctionFactory.Create(GetWeather, "get_weather"));
        builder.AddAIAgent("assistant", o => o.Description = "Answers questions.");
        builder.AddChatHistoryProvider();
        services.AddSingleton<TimeProvider>(Time);
        return services.BuildServiceProvider();
    }
}
