using System.Text.Json;
using System.Text.Json.Serialization;
using AgentCore;
using AgentCore.Samples.Web;

// AgentCore behind an ASP.NET Core minimal API: sessions over HTTP, each turn streamed to the browser as
// Server-Sent Events, and a small page (wwwroot) that uses both.
//
//   ./scripts/pack.sh && dotnet run --project samples/AgentCore.Samples.Web -- --urls http://127.0.0.1:5080
//
// Settings (appsettings.json, environment variables or the command line):
//   --urls                      where to listen (ASP.NET Core's own setting)
//   AgentCore:DataDirectory     where sessions are stored (any AgentCoreOptions member binds from the AgentCore section)
//   AgentCore:PostgreSql:ConnectionString  keep sessions in PostgreSQL instead, with events across instances: run two
//                               instances on one database and a page on either follows a turn running on the other
//   ANTHROPIC_API_KEY           talk to Claude through Anthropic's official SDK; without it, the offline demo model answers
//   Anthropic:Model ...         the Claude model and its limits and prices (see AnthropicSettings)
//   Demo:WordDelayMilliseconds  how long the demo model waits between words, so streaming is visible (default 30)
//   Demo:TestHooks              for the sample's tests only: the demo model's words wait for POST /api/test/release,
//                               and POST /api/test/drop-streams breaks the open event streams (see DemoTestHooks)
//   OTEL_EXPORTER_OTLP_ENDPOINT export AgentCore's traces and metrics over OTLP (see SampleTelemetry, docs/observability.md)
var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    // The page and appsettings.json are copied next to the dll, so the app runs the same from any working directory.
    ContentRootPath = AppContext.BaseDirectory,
});

builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<AgentCoreExceptionHandler>();
builder.Services.AddHealthChecks();
builder.AddSampleTelemetry();
builder.Services.ConfigureHttpJsonOptions(options =>
{
    options.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
    options.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
});

var agentCore = builder.Services.AddAgentCore(options =>
    // The library's default is the user's local application data folder; the sample keeps its sessions apart.
    options.DataDirectory = Path.Combine(Path.GetTempPath(), "agentcore-web-sample"));
builder.Services.AddOptions<AgentCoreOptions>().Bind(builder.Configuration.GetSection("AgentCore"));
// Several instances on one database: sessions, the busy lock and the events of every turn shared between them.
if (builder.Configuration.GetSection("AgentCore:PostgreSql") is { } postgreSql && !string.IsNullOrEmpty(postgreSql["ConnectionString"]))
{
    agentCore.UsePostgreSql(postgreSql, o => o.UseEvents = true);
}

builder.Services.AddSingleton<TurnStarts>();
if (builder.Configuration.TestHooksEnabled())
{
    builder.Services.AddSingleton<DemoTestHooks>();
}

var chatModel = ChatModels.Register(agentCore, builder.Configuration);
builder.Services.AddSingleton(chatModel);
agentCore.AddTool(SampleTools.CurrentTime(TimeProvider.System));
agentCore.AddTool(SampleTools.SaveNote());

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDemoTestHooks();
app.UseDefaultFiles();
app.UseStaticFiles();

app.MapHealthChecks("/health");
app.MapGet("/api/info", (ChatModelDescription model) => model);
app.MapSessionApi();
app.MapSearchAndShareApi();

app.Logger.LogChatModel(chatModel.Model, chatModel.Offline);
app.Run();
