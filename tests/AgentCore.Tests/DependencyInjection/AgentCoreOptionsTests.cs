using AgentCore.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentCore.Tests.DependencyInjection;

public sealed class AgentCoreOptionsTests
{
    private TempDirectory _temp = null!;

    [SetUp]
    public void SetUp() => _temp = new TempDirectory();

    [TearDown]
    public void TearDown() => _temp.Dispose();

    [Test]
    public void New_Defaults_AsDocumented()
    {
        var options = new AgentCoreOptions();

        options.DataDirectory.Should().Be(Path.Combine(
            Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "agentcore",
            System.Reflection.Assembly.GetEntryAssembly()!.GetName().Name!));
        options.ContextFileNames.Should().BeEmpty("AddAgentCore fills in AGENTS.md after binding when no list is given");
        options.DefaultModel.Should().BeNull();
        options.MaxSteps.Should().Be(1000);
        options.MaxRetries.Should().Be(6);
        options.MaxRetryDelay.Should().Be(TimeSpan.FromSeconds(60));
        options.AutoCompaction.Should().BeTrue();
        options.CompactionThreshold.Should().Be(0.9);
        options.GenerateTitles.Should().BeTrue();
        options.TitleModel.Should().BeNull();
        options.SystemPrompt.Should().BeNull();
        options.MaxToolOutputBytes.Should().Be(50_000);
        options.ParallelToolCalls.Should().BeFalse();
        options.AgentId.Should().Be("agentcore");
        options.Project.Should().BeNull();
    }

    [Test]
    public void DataDirectory_SetToNull_BackToTheDefault()
    {
        var options = new AgentCoreOptions { DataDirectory = "/srv/agentcore" };

        options.DataDirectory = null!;

        options.DataDirectory.Should().Be(new AgentCoreOptions().DataDirectory);
    }

    [Test]
    public void Validate_Defaults_Succeed()
    {
        using var services = Services(_ => { });

        FluentActions.Invoking(() => services.GetRequiredService<IStartupValidator>().Validate()).Should().NotThrow();
        services.GetRequiredService<IOptions<AgentCoreOptions>>().Value.MaxSteps.Should().Be(1000);
    }

    public static IEnumerable<TestCaseData> BadValues()
    {
        static TestCaseData Case(string setting, string shown, Action<AgentCoreOptions> set) =>
            new TestCaseData(setting, shown, set).SetArgDisplayNames(setting, shown);

        yield return Case("MaxSteps", "0", o => o.MaxSteps = 0);
        yield return Case("MaxSteps", "-5", o => o.MaxSteps = -5);
        yield return Case("MaxRetries", "-1", o => o.MaxRetries = -1);
        yield return Case("MaxRetryDelay", "-00:00:01", o => o.MaxRetryDelay = TimeSpan.FromSeconds(-1));
        yield return Case("MaxRetryDelay", "2.00:00:00", o => o.MaxRetryDelay = TimeSpan.FromDays(2));
        yield return Case("CompactionThreshold", "0", o => o.CompactionThreshold = 0);
        yield return Case("CompactionThreshold", "1.5", o => o.CompactionThreshold = 1.5);
        yield return Case("CompactionThreshold", "-0.1", o => o.CompactionThreshold = -0.1);
        yield return Case("CompactionThreshold", "NaN", o => o.CompactionThreshold = double.NaN);
        yield return Case("CompactionThreshold", "Infinity", o => o.CompactionThreshold = double.PositiveInfinity);
        yield return Case("DefaultModel", "nomodel", o => o.DefaultModel = "nomodel");
        yield return Case("DefaultModel", "/claude", o => o.DefaultModel = "/claude");
        yield return Case("DefaultModel", "anthropic/", o => o.DefaultModel = "anthropic/");
        yield return Case("DefaultModel", "anthropic/claude sonnet", o => o.DefaultModel = "anthropic/claude sonnet");
        yield return Case("TitleModel", "titles", o => o.TitleModel = "titles");
        yield return Case("DataDirectory", "''", o => o.DataDirectory = "");
        yield return Case("DataDirectory", "'   '", o => o.DataDirectory = "   ");
        yield return Case("MaxToolOutputBytes", "10", o => o.MaxToolOutputBytes = 10);
        yield return Case("MaxToolOutputBytes", "0", o => o.MaxToolOutputBytes = 0);
        yield return Case("AgentId", "''", o => o.AgentId = "");
        yield return Case("AgentId", "' '", o => o.AgentId = " ");
    }

    [TestCaseSource(nameof(BadValues))]
    public void StartupValidation_BadValue_OptionsValidationExceptionNamingSettingAndValue(string setting, string shown, Action<AgentCoreOptions> set)
    {
        using var services = Services(set);

        var thrown = FluentActions.Invoking(() => services.GetRequiredService<IStartupValidator>().Validate())
            .Should().Throw<OptionsValidationException>().Which;

        thrown.Message.Should().Contain(setting).And.Contain(shown);
        thrown.Failures.Should().ContainSingle();
    }

    [TestCaseSource(nameof(BadValues))]
    public void ResolvingAService_BadValue_OptionsValidationException(string setting, string shown, Action<AgentCoreOptions> set)
    {
        using var services = Services(set);

        FluentActions.Invoking(() => services.GetRequiredService<ISessionStore>())
            .Should().Throw<OptionsValidationException>().Which.Message.Should().Contain(setting).And.Contain(shown);
        FluentActions.Invoking(() => services.GetRequiredService<IOptions<AgentCoreOptions>>().Value)
            .Should().Throw<OptionsValidationException>();
    }

    [Test]
    public void StartupValidation_SeveralBadValues_AllNamedAtOnce()
    {
        using var services = Services(o =>
        {
            o.MaxSteps = 0;
            o.MaxRetries = -2;
            o.DefaultModel = "nomodel";
        });

        var thrown = FluentActions.Invoking(() => services.GetRequiredService<IStartupValidator>().Validate())
            .Should().Throw<OptionsValidationException>().Which;

        thrown.Failures.Should().HaveCount(3);
        thrown.Message.Should().Contain("MaxSteps").And.Contain("MaxRetries").And.Contain("-2").And.Contain("'nomodel'");
    }

    [Test]
    public void StartupValidation_EdgeValues_Accepted()
    {
        using var services = Services(o =>
        {
            o.MaxSteps = 1;
            o.MaxRetries = 0;
            o.CompactionThreshold = 1.0;
            o.MaxToolOutputBytes = 1024;
            o.DefaultModel = "openrouter/meta-llama/llama-3";
            o.TitleModel = "a/b";
        });

        FluentActions.Invoking(() => services.GetRequiredService<IStartupValidator>().Validate()).Should().NotThrow();
    }

    [Test]
    public void StartupValidation_ValueSetOutsideAddAgentCore_StillValidated()
    {
        var collection = new ServiceCollection();
        collection.AddAgentCore(o => o.DataDirectory = _temp.Path);
        collection.Configure<AgentCoreOptions>(o => o.MaxSteps = 0);
        using var services = collection.BuildServiceProvider();

        FluentActions.Invoking(() => services.GetRequiredService<IStartupValidator>().Validate())
            .Should().Throw<OptionsValidationException>().WithMessage("*MaxSteps*0*");
    }

    private ServiceProvider Services(Action<AgentCoreOptions> set)
    {
        var collection = new ServiceCollection();
        collection.AddAgentCore(o =>
        {
            o.DataDirectory = _temp.Path;
            set(o);
        });
        return collection.BuildServiceProvider();
    }
}
