using AgentCore.Tests.Fakes;
using AgentCore.Tests.Support;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentCore.Tests.Tools;

public sealed class ToolRegistryTests
{
    private static readonly ToolContext Context = new(AgentCoreIds.NewSessionId(), "anthropic", "claude-sonnet");

    private TempDirectory _temp = null!;
    private CapturingLogger<ToolRegistry> _logger = null!;

    [SetUp]
    public void SetUp()
    {
        _temp = new TempDirectory();
        _logger = new CapturingLogger<ToolRegistry>();
    }

    [TearDown]
    public void TearDown() => _temp.Dispose();

    private IAgentCoreBuilder Builder()
    {
        var services = new ServiceCollection();
        services.AddSingleton<ILogger<ToolRegistry>>(_logger);
        return services.AddAgentCore(o => o.DataDirectory = _temp.Path);
    }

    private static AIFunction Add() => AIFunctionFactory.Create((int a, int b) => a + b, "add", "Adds two numbers.");

    private static AIFunction Echo(string name = "echo") => AIFunctionFactory.Create((string text) => text, name, "Repeats the text.");

    private static async Task<IReadOnlyList<AIFunction>> ToolsAsync(IAgentCoreBuilder builder)
    {
        await using var services = builder.Services.BuildServiceProvider();
        return await services.GetRequiredService<IToolRegistry>().GetToolsAsync(Context);
    }

    [Test]
    public async Task GetToolsAsync_NothingRegistered_Empty()
    {
        (await ToolsAsync(Builder())).Should().BeEmpty();
    }

    [Test]
    public async Task GetToolsAsync_AddToolAndAddTools_EveryFunctionInRegistrationOrder()
    {
        var add = Add();
        var echo = Echo();
        var now = AIFunctionFactory.Create(() => "12:00", "now");

        var tools = await ToolsAsync(Builder().AddTool(add).AddTools([echo, now]));

        tools.Should().Equal(add, echo, now);
        var sum = await tools[0].InvokeAsync(new AIFunctionArguments { ["a"] = 2, ["b"] = 3 });
        sum.Should().NotBeNull();
        sum!.ToString().Should().Be("5");
    }

    [TestCase("")]
    [TestCase("has space")]
    [TestCase("dotted.name")]
    [TestCase("slash/name")]
    [TestCase("ünïcode")]
    [TestCase("name\n")]
    [TestCase("x12345678901234567890123456789012345678901234567890123456789012345")]
    public void AddTool_InvalidName_ArgumentExceptionNamingIt(string name)
    {
        var builder = Builder();
        int registrations = builder.Services.Count;

        FluentActions.Invoking(() => builder.AddTool(new NamedFunction(name)))
            .Should().Throw<ArgumentException>().WithParameterName("tool")
            .Which.Message.Should().Contain($"'{name}'").And.Contain("1 to 64 letters, digits, '_' or '-'");
        builder.Services.Count.Should().Be(registrations);
    }

    [TestCase("a")]
    [TestCase("get_weather")]
    [TestCase("Read-File_2")]
    [TestCase("x123456789012345678901234567890123456789012345678901234567890123")]
    public async Task AddTool_ValidName_Registered(string name)
    {
        (await ToolsAsync(Builder().AddTool(new NamedFunction(name)))).Select(t => t.Name).Should().Equal(name);
    }

    [Test]
    public void AddTool_DuplicateName_RejectedAtRegistration()
    {
        var builder = Builder().AddTool(Echo());

        FluentActions.Invoking(() => builder.AddTool(Echo()))
            .Should().Throw<InvalidOperationException>().WithMessage("*'echo'*already registered*");
    }

    [Test]
    public void AddTools_DuplicateWithinTheList_RejectedAtRegistration()
    {
        FluentActions.Invoking(() => Builder().AddTools([Echo("one"), Echo("two"), Echo("one")]))
            .Should().Throw<InvalidOperationException>().WithMessage("*'one'*");
    }

    [Test]
    public void AddTool_Null_ArgumentNullException()
    {
        FluentActions.Invoking(() => Builder().AddTool(null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => Builder().AddTools(null!)).Should().Throw<ArgumentNullException>();
    }

    [Test]
    public void GetToolsAsync_DuplicateRegisteredAroundTheBuilder_FailsWhenResolved()
    {
        var builder = Builder();
        builder.Services.AddSingleton(new FunctionRegistration(Echo()));
        builder.Services.AddSingleton(new FunctionRegistration(Echo()));
        using var services = builder.Services.BuildServiceProvider();

        FluentActions.Invoking(() => services.GetRequiredService<IToolRegistry>())
            .Should().Throw<InvalidOperationException>().WithMessage("*'echo'*");
    }

    [Test]
    public async Task AddToolSource_CustomSource_ResolvedThroughDependencyInjectionAndAggregated()
    {
        var builder = Builder().AddTool(Add()).AddToolSource<WeatherSource>().AddToolSource<WeatherSource>();
        builder.Services.AddSingleton(new WeatherSettings("Oslo"));

        var tools = await ToolsAsync(builder);

        tools.Select(t => t.Name).Should().Equal("add", "weather_in_Oslo");
    }

    [Test]
    public async Task GetToolsAsync_Always_PassesTheContextToSources()
    {
        var builder = Builder().AddToolSource<RecordingSource>();
        await using var services = builder.Services.BuildServiceProvider();

        await services.GetRequiredService<IToolRegistry>().GetToolsAsync(Context);

        services.GetServices<IToolSource>().OfType<RecordingSource>().Single().Seen.Should().Equal(Context);
    }

    [Test]
    public async Task GetToolsAsync_OneSourceFails_OthersStillServedAndTheFailureLogged()
    {
        var builder = Builder().AddTool(Add()).AddToolSource<FailingSource>();
        builder.Services.AddSingleton(new WeatherSettings("Rome"));
        builder.AddToolSource<WeatherSource>();

        var tools = await ToolsAsync(builder);

        tools.Select(t => t.Name).Should().Equal("add", "weather_in_Rome");
        var warning = _logger.Warnings.Should().ContainSingle().Subject;
        warning.Message.Should().Contain("failing");
        warning.Exception.Should().BeOfType<IOException>();
    }

    [Test]
    public async Task GetToolsAsync_SourceOffersATakenOrInvalidName_LeftOutWithWarnings()
    {
        var tools = await ToolsAsync(Builder().AddTool(Echo()).AddToolSource<CollidingSource>());

        tools.Select(t => t.Name).Should().Equal("echo", "unique");
        tools[0].Description.Should().Be("Repeats the text.", "the first registered tool of a name wins");
        _logger.Warnings.Should().HaveCount(2);
        _logger.Warnings.Should().Contain(w => w.Message.Contains("'echo'")).And.Contain(w => w.Message.Contains("'bad name'"));
    }

    [Test]
    public async Task GetToolsAsync_Cancelled_Throws()
    {
        var builder = Builder().AddToolSource<CancellableSource>();
        await using var services = builder.Services.BuildServiceProvider();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await FluentActions.Awaiting(async () => await services.GetRequiredService<IToolRegistry>().GetToolsAsync(Context, cancelled.Token))
            .Should().ThrowAsync<OperationCanceledException>();
        _logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task GetToolsAsync_SeveralSources_AskedConcurrently()
    {
        // Each of the two sources waits for the other to have been asked: only concurrent calls finish.
        var builder = Builder().AddToolSource<FirstRendezvousSource>().AddToolSource<SecondRendezvousSource>();
        builder.Services.AddSingleton<Rendezvous>();

        var tools = await ToolsAsync(builder).WaitAsync(TimeSpan.FromSeconds(30));

        tools.Select(t => t.Name).Should().Equal("first", "second");
    }

    // ---- sources ----

    private sealed class NamedFunction(string name) : AIFunction
    {
        public override string Name => name;

        protected override ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken) =>
            ValueTask.FromResult<object?>(name);
    }

    private sealed record WeatherSettings(string City);

    private sealed class WeatherSource(WeatherSettings settings) : IToolSource
    {
        public string Name => "weather";

        public ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<IReadOnlyList<AIFunction>>([AIFunctionFactory.Create(() => "sunny", "weather_in_" + settings.City)]);
    }

    private sealed class RecordingSource : IToolSource
    {
        public List<ToolContext> Seen { get; } = [];

        public string Name => "recording";

        public ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default)
        {
            Seen.Add(context);
            return ValueTask.FromResult<IReadOnlyList<AIFunction>>([]);
        }
    }

    private sealed class FailingSource : IToolSource
    {
        public string Name => "failing";

        public async ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            throw new IOException("the server went away");
        }
    }

    private sealed class CollidingSource : IToolSource
    {
        public string Name => "colliding";

        public ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<IReadOnlyList<AIFunction>>(
                [AIFunctionFactory.Create(() => "other", "echo", "Another echo."), new NamedFunction("bad name"), new NamedFunction("unique")]);
    }

    private sealed class CancellableSource : IToolSource
    {
        public string Name => "cancellable";

        public async ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return [];
        }
    }

    private sealed class Rendezvous
    {
        public TaskCompletionSource First { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Second { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class FirstRendezvousSource(Rendezvous rendezvous) : IToolSource
    {
        public string Name => "first";

        public async ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default)
        {
            rendezvous.First.SetResult();
            await rendezvous.Second.Task;
            return [new NamedFunction("first")];
        }
    }

    private sealed class SecondRendezvousSource(Rendezvous rendezvous) : IToolSource
    {
        public string Name => "second";

        public async ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default)
        {
            rendezvous.Second.SetResult();
            await rendezvous.First.Task;
            return [new NamedFunction("second")];
        }
    }
}
