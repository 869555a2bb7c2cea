using AgentCore.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentCore.Tests.DependencyInjection;

public sealed class AgentCoreServiceCollectionExtensionsTests
{
    private TempDirectory _temp = null!;

    [SetUp]
    public void SetUp() => _temp = new TempDirectory();

    [TearDown]
    public void TearDown() => _temp.Dispose();

    private IAgentCoreBuilder Builder(IServiceCollection? services = null) =>
        (services ?? new ServiceCollection()).AddAgentCore(o => o.DataDirectory = _temp.Path);

    [Test]
    public void AddAgentCore_Defaults_RegistersEveryServiceAsASingleton()
    {
        using var services = Builder().Services.BuildServiceProvider();

        services.GetRequiredService<ISessionStore>().Should().BeOfType<FileSessionStore>();
        services.GetRequiredService<ISessionHistory>().Should().BeOfType<JsonlSessionHistory>();
        services.GetRequiredService<IModelProvider>().Should().BeOfType<ModelProvider>();
        services.GetRequiredService<IToolRegistry>().Should().BeOfType<ToolRegistry>();
        services.GetRequiredService<ISessionLockProvider>().Should().BeOfType<FileSessionLockProvider>()
            .Which.LockDirectory.Should().Be(Path.Combine(Path.GetFullPath(_temp.Path), "locks"), "the file store's lock lives in its data directory");
        services.GetRequiredService<ISessionEvents>().Should().BeSameAs(services.GetRequiredService<SessionEventHub>());
        services.GetRequiredService<TimeProvider>().Should().BeSameAs(TimeProvider.System);
        services.GetServices<IToolSource>().Select(s => s.GetType()).Should().Equal(typeof(FunctionToolSource), typeof(McpToolSource));

        foreach (var type in new[] { typeof(ISessionStore), typeof(ISessionHistory), typeof(IModelProvider), typeof(IToolRegistry), typeof(ISessionLockProvider), typeof(ISessionEvents) })
        {
            services.GetRequiredService(type).Should().BeSameAs(services.GetRequiredService(type), $"{type.Name} is a singleton");
        }
    }

    [Test]
    public void AddAgentCore_InMemoryStore_KeepsTheInProcessLock()
    {
        using var services = Builder().UseInMemoryStore().Services.BuildServiceProvider();

        services.GetRequiredService<ISessionLockProvider>().Should().BeOfType<InProcessSessionLockProvider>();
    }

    [Test]
    public void AddAgentCore_ResolvingServices_WritesNothingYet()
    {
        using var services = Builder().Services.BuildServiceProvider();

        services.GetRequiredService<ISessionStore>();
        services.GetRequiredService<ISessionHistory>();

        _temp.Entries().Should().BeEmpty();
    }

    [Test]
    public async Task AddAgentCore_Defaults_StoreAndHistoryLiveInTheDataDirectory()
    {
        using var services = Builder().Services.BuildServiceProvider();
        var session = new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch };

        await services.GetRequiredService<ISessionStore>().SaveSessionAsync(session);
        await services.GetRequiredService<ISessionHistory>().RecordStartAsync(new SessionHistoryEntry { SessionId = session.Id });

        File.Exists(_temp.Combine("sessions", session.Id + ".json")).Should().BeTrue();
        File.Exists(_temp.Combine("sessions.jsonl")).Should().BeTrue();
        ((JsonlSessionHistory)services.GetRequiredService<ISessionHistory>()).FilePath.Should().Be(_temp.Combine("sessions.jsonl"));
    }

    [Test]
    public void AddAgentCore_Configure_Applied()
    {
        using var services = new ServiceCollection().AddAgentCore(o =>
        {
            o.DataDirectory = _temp.Path;
            o.DefaultModel = "anthropic/claude-sonnet";
            o.MaxSteps = 12;
        }).Services.BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<AgentCoreOptions>>().Value;
        options.DefaultModel.Should().Be("anthropic/claude-sonnet");
        options.MaxSteps.Should().Be(12);
    }

    [Test]
    public void AddAgentCore_CalledTwice_NoServiceTwice()
    {
        var collection = new ServiceCollection();
        Builder(collection);
        Builder(collection);
        using var services = collection.BuildServiceProvider();

        services.GetServices<IToolSource>().Should().HaveCount(2, "the local tools and the MCP servers, each once");
        services.GetServices<ISessionStore>().Should().ContainSingle();
        services.GetServices<IValidateOptions<AgentCoreOptions>>().OfType<AgentCoreOptionsValidator>().Should().ContainSingle();
    }

    [Test]
    public void AddAgentCore_ServicesRegisteredBefore_Win()
    {
        var collection = new ServiceCollection();
        var store = new InMemorySessionStore();
        var time = new FakeTimeProvider();
        collection.AddSingleton<ISessionStore>(store);
        collection.AddSingleton<TimeProvider>(time);
        using var services = Builder(collection).Services.BuildServiceProvider();

        services.GetRequiredService<ISessionStore>().Should().BeSameAs(store);
        services.GetRequiredService<TimeProvider>().Should().BeSameAs(time);
    }

    [Test]
    public void AddAgentCore_NullServices_ArgumentNullException() =>
        FluentActions.Invoking(() => AgentCoreServiceCollectionExtensions.AddAgentCore(null!)).Should().Throw<ArgumentNullException>();

    // ---- replacing defaults ----

    [Test]
    public async Task UseInMemoryStore_Always_ReplacesTheFileStoreAndWritesNothing()
    {
        using var services = Builder().UseInMemoryStore().Services.BuildServiceProvider();
        var store = services.GetRequiredService<ISessionStore>();

        store.Should().BeOfType<InMemorySessionStore>();
        services.GetServices<ISessionStore>().Should().ContainSingle();
        await store.SaveSessionAsync(new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch });
        _temp.Entries().Should().BeEmpty();
    }

    [Test]
    public void UseSessionStore_Type_Replaces()
    {
        using var services = Builder().UseSessionStore<CountingStore>().Services.BuildServiceProvider();

        services.GetRequiredService<ISessionStore>().Should().BeOfType<CountingStore>();
        services.GetServices<ISessionStore>().Should().ContainSingle();
    }

    [Test]
    public void UseSessionStore_Factory_ReplacesAndGetsTheServiceProvider()
    {
        IServiceProvider? seen = null;
        using var services = Builder().UseSessionStore(sp => { seen = sp; return new CountingStore(); }).Services.BuildServiceProvider();

        services.GetRequiredService<ISessionStore>().Should().BeOfType<CountingStore>();
        services.GetRequiredService<ISessionStore>().Should().BeSameAs(services.GetRequiredService<ISessionStore>());
        seen.Should().NotBeNull();
    }

    [Test]
    public void UseSessionStore_LastCallWins()
    {
        using var services = Builder().UseSessionStore<CountingStore>().UseInMemoryStore().Services.BuildServiceProvider();

        services.GetServices<ISessionStore>().Should().ContainSingle().Which.Should().BeOfType<InMemorySessionStore>();
    }

    [Test]
    public void UseSessionHistory_Type_Replaces()
    {
        using var services = Builder().UseSessionHistory<NullHistory>().Services.BuildServiceProvider();

        services.GetServices<ISessionHistory>().Should().ContainSingle().Which.Should().BeOfType<NullHistory>();
    }

    [Test]
    public void UseSessionLock_Type_Replaces()
    {
        using var services = Builder().UseSessionLock<NeverFreeLock>().Services.BuildServiceProvider();

        services.GetServices<ISessionLockProvider>().Should().ContainSingle().Which.Should().BeOfType<NeverFreeLock>();
    }

    [Test]
    public void UseMethods_NullArguments_ArgumentNullException()
    {
        FluentActions.Invoking(() => AgentCoreBuilderExtensions.UseInMemoryStore(null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => Builder().UseSessionStore((Func<IServiceProvider, ISessionStore>)null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => AgentCoreBuilderExtensions.UseSessionHistory<NullHistory>(null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => AgentCoreBuilderExtensions.AddToolSource<NullSource>(null!)).Should().Throw<ArgumentNullException>();
    }

    // ---- AddChatClient ----

    private static readonly ModelInfo Sonnet = new("anthropic", "claude-sonnet", 200_000, 64_000, new ModelPricing(3m, 15m));

    [Test]
    public void AddChatClient_Valid_RegistersOneProvider()
    {
        var builder = Builder().AddChatClient("anthropic", new Testing.ScriptedChatClient(), [Sonnet]);
        using var services = builder.Services.BuildServiceProvider();

        services.GetRequiredService<IModelProvider>().ListModels().Should().Equal(Sonnet);
    }

    public static IEnumerable<TestCaseData> BadChatClientArguments()
    {
        static TestCaseData Case(string name, Type exception, string? messagePart, Action<IAgentCoreBuilder> register) =>
            new TestCaseData(exception, messagePart, register).SetArgDisplayNames(name);

        var client = new Testing.ScriptedChatClient();
        yield return Case("NullProviderId", typeof(ArgumentNullException), null, b => b.AddChatClient(null!, client, [Sonnet]));
        yield return Case("EmptyProviderId", typeof(ArgumentException), null, b => b.AddChatClient("", client, [Sonnet]));
        yield return Case("BlankProviderId", typeof(ArgumentException), null, b => b.AddChatClient("  ", client, [Sonnet]));
        yield return Case("ProviderIdWithSlash", typeof(ArgumentException), "'anthropic/eu'",
            b => b.AddChatClient("anthropic/eu", client, [Sonnet with { ProviderId = "anthropic/eu" }]));
        yield return Case("NullClient", typeof(ArgumentNullException), null, b => b.AddChatClient("anthropic", (Microsoft.Extensions.AI.IChatClient)null!, [Sonnet]));
        yield return Case("NullFactory", typeof(ArgumentNullException), null,
            b => b.AddChatClient("anthropic", (Func<IServiceProvider, Microsoft.Extensions.AI.IChatClient>)null!, [Sonnet]));
        yield return Case("NullModels", typeof(ArgumentNullException), null, b => b.AddChatClient("anthropic", client, null!));
        yield return Case("NoModels", typeof(ArgumentException), "at least one model", b => b.AddChatClient("anthropic", client, []));
        yield return Case("NullModel", typeof(ArgumentNullException), null, b => b.AddChatClient("anthropic", client, [Sonnet, null!]));
        yield return Case("ModelOfAnotherProvider", typeof(ArgumentException), "'openai/gpt-5'",
            b => b.AddChatClient("anthropic", client, [new ModelInfo("openai", "gpt-5", 1000, 100)]));
        yield return Case("ModelTwice", typeof(ArgumentException), "'claude-sonnet'", b => b.AddChatClient("anthropic", client, [Sonnet, Sonnet]));
        yield return Case("EmptyModelId", typeof(ArgumentException), "empty", b => b.AddChatClient("anthropic", client, [Sonnet with { ModelId = "" }]));
        yield return Case("ZeroContextWindow", typeof(ArgumentException), "ContextWindow 0", b => b.AddChatClient("anthropic", client, [Sonnet with { ContextWindow = 0 }]));
        yield return Case("ZeroMaxOutput", typeof(ArgumentException), "MaxOutputTokens 0", b => b.AddChatClient("anthropic", client, [Sonnet with { MaxOutputTokens = 0 }]));
        yield return Case("MaxOutputAboveWindow", typeof(ArgumentException), "MaxOutputTokens 300000",
            b => b.AddChatClient("anthropic", client, [Sonnet with { MaxOutputTokens = 300_000 }]));
        yield return Case("NegativePrice", typeof(ArgumentException), "negative",
            b => b.AddChatClient("anthropic", client, [Sonnet with { Pricing = new ModelPricing(-1m, 15m) }]));
        yield return Case("NegativeCachePrice", typeof(ArgumentException), "negative",
            b => b.AddChatClient("anthropic", client, [Sonnet with { Pricing = new ModelPricing(1m, 15m, CacheWritePerMillion: -0.1m) }]));
        yield return Case("NullPricing", typeof(ArgumentException), "missing", b => b.AddChatClient("anthropic", client, [Sonnet with { Pricing = null! }]));
        yield return Case("ProviderTwice", typeof(InvalidOperationException), "'anthropic'",
            b => b.AddChatClient("anthropic", client, [Sonnet]).AddChatClient("anthropic", client, [Sonnet with { ModelId = "other" }]));
    }

    [TestCaseSource(nameof(BadChatClientArguments))]
    public void AddChatClient_BadArgument_Throws(Type exception, string? messagePart, Action<IAgentCoreBuilder> register)
    {
        var builder = Builder();

        var thrown = FluentActions.Invoking(() => register(builder)).Should().Throw<Exception>().Which;

        thrown.Should().BeOfType(exception);
        if (messagePart is not null)
        {
            thrown.Message.Should().Contain(messagePart);
        }

        builder.Services.Count(d => d.ServiceType == typeof(ChatClientRegistration)).Should().BeLessThanOrEqualTo(1, "a rejected provider is not registered");
    }

    [Test]
    public void AddChatClient_NullBuilder_ArgumentNullException() =>
        FluentActions.Invoking(() => AgentCoreBuilderExtensions.AddChatClient(null!, "anthropic", new Testing.ScriptedChatClient(), [Sonnet]))
            .Should().Throw<ArgumentNullException>();

    // ---- replacements ----

    private sealed class CountingStore : ISessionStore
    {
        private readonly InMemorySessionStore _inner = new();

        public ValueTask<SessionInfo?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) => _inner.GetSessionAsync(sessionId, cancellationToken);

        public IAsyncEnumerable<SessionInfo> ListSessionsAsync(CancellationToken cancellationToken = default) => _inner.ListSessionsAsync(cancellationToken);

        public ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default) => _inner.SaveSessionAsync(session, cancellationToken);

        public ValueTask<bool> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default) => _inner.DeleteSessionAsync(sessionId, cancellationToken);

        public ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default) => _inner.GetMessagesAsync(sessionId, cancellationToken);

        public ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default) => _inner.SaveMessageAsync(message, cancellationToken);
    }

    private sealed class NullHistory : ISessionHistory
    {
        public ValueTask RecordStartAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask RecordEndAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public IAsyncEnumerable<SessionHistoryEntry> ReadAsync(CancellationToken cancellationToken = default) => AsyncEnumerable.Empty<SessionHistoryEntry>();
    }

    private sealed class NeverFreeLock : ISessionLockProvider
    {
        public ValueTask<ISessionLease?> TryAcquireAsync(string sessionId, CancellationToken cancellationToken = default) => ValueTask.FromResult<ISessionLease?>(null);

        public ValueTask<bool> RequestAbortAsync(string sessionId, CancellationToken cancellationToken = default) => ValueTask.FromResult(false);
    }

    private sealed class NullSource : IToolSource
    {
        public string Name => "null";

        public ValueTask<IReadOnlyList<Microsoft.Extensions.AI.AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<IReadOnlyList<Microsoft.Extensions.AI.AIFunction>>([]);
    }
}
