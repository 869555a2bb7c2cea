using AgentCore.Testing;
using AgentCore.Tests.Support;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCore.Tests.Models;

public sealed class ModelProviderTests
{
    private static readonly ModelInfo Sonnet = new("anthropic", "claude-sonnet", 200_000, 64_000, new ModelPricing(3m, 15m, 0.3m, 3.75m));
    private static readonly ModelInfo Haiku = new("anthropic", "claude-haiku", 200_000, 8_192, new ModelPricing(1m, 5m));
    private static readonly ModelInfo Gpt = new("openai", "gpt-5", 400_000, 128_000);

    private TempDirectory _temp = null!;

    [SetUp]
    public void SetUp() => _temp = new TempDirectory();

    [TearDown]
    public void TearDown() => _temp.Dispose();

    private IAgentCoreBuilder Builder() => new ServiceCollection().AddAgentCore(o => o.DataDirectory = _temp.Path);

    [Test]
    public async Task GetModelAsync_SeveralModelsOfOneProvider_OneClientFromOneFactoryCall()
    {
        int factoryCalls = 0;
        var client = new ScriptedChatClient();
        using var services = Builder()
            .AddChatClient("anthropic", _ => { Interlocked.Increment(ref factoryCalls); return client; }, [Sonnet, Haiku])
            .Services.BuildServiceProvider();
        var provider = services.GetRequiredService<IModelProvider>();
        factoryCalls.Should().Be(0, "the client is created on first use");

        var sonnet = await provider.GetModelAsync("anthropic", "claude-sonnet");
        var haiku = await provider.GetModelAsync("anthropic", "claude-haiku");
        var again = await provider.GetModelAsync("anthropic", "claude-sonnet");

        sonnet.ChatClient.Should().BeSameAs(client);
        haiku.ChatClient.Should().BeSameAs(client);
        again.ChatClient.Should().BeSameAs(client);
        sonnet.Info.Should().Be(Sonnet);
        haiku.Info.Should().Be(Haiku);
        factoryCalls.Should().Be(1);
    }

    [Test]
    public async Task GetModelAsync_FirstCallsRace_FactoryCalledOnce()
    {
        int factoryCalls = 0;
        using var release = new ManualResetEventSlim();
        using var services = Builder()
            .AddChatClient("anthropic", _ =>
            {
                Interlocked.Increment(ref factoryCalls);
                release.Wait(TimeSpan.FromSeconds(30));
                return new ScriptedChatClient();
            }, [Sonnet, Haiku])
            .Services.BuildServiceProvider();
        var provider = services.GetRequiredService<IModelProvider>();
        using var allStarted = new CountdownEvent(8);

        // Dedicated threads: the callers block, and blocking pool threads would starve the pool.
        var resolving = Enumerable.Range(0, 8).Select(i => Task.Factory.StartNew(() =>
        {
            allStarted.Signal();
            return provider.GetModelAsync("anthropic", i % 2 == 0 ? "claude-sonnet" : "claude-haiku").AsTask().GetAwaiter().GetResult();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToList();
        allStarted.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue();
        release.Set();
        var resolved = await Task.WhenAll(resolving);

        factoryCalls.Should().Be(1);
        resolved.Select(r => r.ChatClient).Distinct().Should().ContainSingle();
    }

    [Test]
    public async Task GetModelAsync_FactoryFails_NotCachedNextCallRetries()
    {
        int factoryCalls = 0;
        using var services = Builder()
            .AddChatClient("anthropic", _ => ++factoryCalls == 1 ? throw new InvalidOperationException("no key yet") : new ScriptedChatClient(), [Sonnet])
            .Services.BuildServiceProvider();
        var provider = services.GetRequiredService<IModelProvider>();

        await FluentActions.Awaiting(async () => await provider.GetModelAsync("anthropic", "claude-sonnet"))
            .Should().ThrowAsync<InvalidOperationException>().WithMessage("no key yet");
        (await provider.GetModelAsync("anthropic", "claude-sonnet")).ChatClient.Should().NotBeNull();
        factoryCalls.Should().Be(2);
    }

    [Test]
    public async Task GetModelAsync_FactoryReturnsNull_ErrorNamesTheProvider()
    {
        using var services = Builder().AddChatClient("anthropic", _ => null!, [Sonnet]).Services.BuildServiceProvider();

        await FluentActions.Awaiting(async () => await services.GetRequiredService<IModelProvider>().GetModelAsync("anthropic", "claude-sonnet"))
            .Should().ThrowAsync<InvalidOperationException>().WithMessage("*'anthropic'*");
    }

    [Test]
    public async Task GetModelAsync_Factory_GetsTheServiceProvider()
    {
        var client = new ScriptedChatClient();
        var builder = Builder();
        builder.Services.AddSingleton(client);
        using var services = builder.AddChatClient("anthropic", sp => sp.GetRequiredService<ScriptedChatClient>(), [Sonnet])
            .Services.BuildServiceProvider();

        (await services.GetRequiredService<IModelProvider>().GetModelAsync("anthropic", "claude-sonnet")).ChatClient.Should().BeSameAs(client);
    }

    [Test]
    public async Task GetModelAsync_TwoProviders_EachItsOwnClient()
    {
        var anthropic = new ScriptedChatClient();
        var openai = new ScriptedChatClient();
        using var services = Builder()
            .AddChatClient("anthropic", anthropic, [Sonnet, Haiku])
            .AddChatClient("openai", openai, [Gpt])
            .Services.BuildServiceProvider();
        var provider = services.GetRequiredService<IModelProvider>();

        (await provider.GetModelAsync("openai", "gpt-5")).ChatClient.Should().BeSameAs(openai);
        (await provider.GetModelAsync("anthropic", "claude-haiku")).ChatClient.Should().BeSameAs(anthropic);
        provider.ListModels().Should().Equal(Sonnet, Haiku, Gpt);
        provider.ListModels().Select(m => m.Reference).Should().Equal("anthropic/claude-sonnet", "anthropic/claude-haiku", "openai/gpt-5");
    }

    [TestCase("google", "gemini")]
    [TestCase("anthropic", "claude-opus")]
    [TestCase("openai", "claude-sonnet")]
    [TestCase("Anthropic", "claude-sonnet")]
    public async Task GetModelAsync_NotRegistered_ModelNotFoundListingWhatIs(string providerId, string modelId)
    {
        int factoryCalls = 0;
        using var services = Builder()
            .AddChatClient("anthropic", _ => { factoryCalls++; return new ScriptedChatClient(); }, [Sonnet, Haiku])
            .AddChatClient("openai", new ScriptedChatClient(), [Gpt])
            .Services.BuildServiceProvider();

        var thrown = await FluentActions.Awaiting(async () => await services.GetRequiredService<IModelProvider>().GetModelAsync(providerId, modelId))
            .Should().ThrowAsync<ModelNotFoundException>();

        thrown.Which.Should().BeAssignableTo<AgentCoreException>();
        thrown.Which.ProviderId.Should().Be(providerId);
        thrown.Which.ModelId.Should().Be(modelId);
        thrown.Which.Available.Should().Equal("anthropic/claude-sonnet", "anthropic/claude-haiku", "openai/gpt-5");
        thrown.Which.Message.Should().Contain($"'{providerId}/{modelId}'")
            .And.Contain("anthropic/claude-sonnet, anthropic/claude-haiku, openai/gpt-5");
        factoryCalls.Should().Be(0);
    }

    [Test]
    public async Task GetModelAsync_NothingRegistered_ModelNotFoundSayingHowToRegister()
    {
        using var services = Builder().Services.BuildServiceProvider();
        var provider = services.GetRequiredService<IModelProvider>();

        provider.ListModels().Should().BeEmpty();
        var thrown = await FluentActions.Awaiting(async () => await provider.GetModelAsync("anthropic", "claude-sonnet"))
            .Should().ThrowAsync<ModelNotFoundException>();
        thrown.Which.Available.Should().BeEmpty();
        thrown.Which.Message.Should().Contain("AddChatClient");
    }

    [TestCase("", "m")]
    [TestCase(" ", "m")]
    [TestCase("p", "")]
    public async Task GetModelAsync_EmptyArgument_ArgumentException(string providerId, string modelId)
    {
        using var services = Builder().AddChatClient("p", new ScriptedChatClient(), [new ModelInfo("p", "m", 1000, 100)]).Services.BuildServiceProvider();

        await FluentActions.Awaiting(async () => await services.GetRequiredService<IModelProvider>().GetModelAsync(providerId, modelId))
            .Should().ThrowAsync<ArgumentException>();
    }

    [Test]
    public async Task GetModelAsync_ModelIdWithSlashes_ResolvedFromItsReference()
    {
        var llama = new ModelInfo("openrouter", "meta-llama/llama-3.3-70b", 128_000, 4_096);
        using var services = Builder().AddChatClient("openrouter", new ScriptedChatClient(), [llama]).Services.BuildServiceProvider();
        var (providerId, modelId) = ModelProvider.ParseReference(llama.Reference, "model");

        (await services.GetRequiredService<IModelProvider>().GetModelAsync(providerId, modelId)).Info.Should().Be(llama);
    }

    [TestCase("anthropic/claude-sonnet", "anthropic", "claude-sonnet")]
    [TestCase("openrouter/meta-llama/llama-3", "openrouter", "meta-llama/llama-3")]
    [TestCase("a/b", "a", "b")]
    public void ParseReference_ProviderSlashModel_SplitAtTheFirstSlash(string reference, string providerId, string modelId) =>
        ModelProvider.ParseReference(reference, "model").Should().Be((providerId, modelId));

    [TestCase("nomodel")]
    [TestCase("/claude")]
    [TestCase("anthropic/")]
    [TestCase("/")]
    public void ParseReference_NotProviderSlashModel_ArgumentExceptionNamingTheValue(string reference) =>
        FluentActions.Invoking(() => ModelProvider.ParseReference(reference, "model"))
            .Should().Throw<ArgumentException>().WithParameterName("model")
            .Which.Message.Should().Contain($"'{reference}'").And.Contain("provider/model");

    [TestCase("")]
    [TestCase("  ")]
    public void ParseReference_Empty_ArgumentException(string reference) =>
        FluentActions.Invoking(() => ModelProvider.ParseReference(reference, "model"))
            .Should().Throw<ArgumentException>().WithParameterName("model");

    [Test]
    public void ModelInfo_NoPricing_Free()
    {
        var model = new ModelInfo("local", "llama", 8192, 1024);

        model.Pricing.Should().Be(ModelPricing.Free);
        model.Reference.Should().Be("local/llama");
    }
}
