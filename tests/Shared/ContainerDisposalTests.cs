// Shared source: linked into the test project of each store (<Compile Include="../Shared/ContainerDisposalTests.cs" Link=... />).
using AgentCore.Testing;
using FluentAssertions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace AgentCore.TestInfrastructure;

/// <summary>
/// Disposing the service provider of an app built with <c>AddAgentCore()</c> on one store, synchronously
/// (<c>using var provider</c>) and asynchronously (<c>await using</c>): nothing throws, a turn streaming at that moment
/// ends with <see cref="TurnCompleted"/> (exit reason <c>aborted</c>) and its partial message is in the store, and the
/// service refuses turns afterwards. Each store's test project derives from it and says how to register the store.
/// </summary>
public abstract class ContainerDisposalTests
{
    private static readonly ModelInfo Model = new("test", "model-1", 200_000, 8_000);

    /// <summary>The folder of the test: AgentCore's data directory (file store and history, unless the store replaces them).</summary>
    protected string DataDirectory { get; private set; } = null!;

    /// <summary>Registers the store under test; called for every provider of a test, which must all see the same sessions.</summary>
    protected abstract void UseStore(IAgentCoreBuilder builder);

    /// <summary>Creates what the store needs for one test (a database, say). Default: nothing.</summary>
    protected virtual Task SetUpStoreAsync() => Task.CompletedTask;

    [SetUp]
    public async Task SetUpDisposalTestAsync()
    {
        DataDirectory = Directory.CreateTempSubdirectory("agentcore-dispose-").FullName;
        await SetUpStoreAsync();
    }

    [TearDown]
    public void TearDownDisposalTest()
    {
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A provider the way an app builds one: <c>AddAgentCore</c>, one chat client, the store under test.</summary>
    protected ServiceProvider BuildProvider(ScriptedChatClient client, Action<IAgentCoreBuilder>? build = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddAgentCore(o =>
        {
            o.DataDirectory = DataDirectory;
            o.GenerateTitles = false;
            o.IncludeEnvironment = false;
            o.IncludeContextFiles = false;
        }).AddChatClient("test", client, [Model]);
        UseStore(builder);
        build?.Invoke(builder);
        return services.BuildServiceProvider();
    }

    [Test]
    public async Task Dispose_AfterATurn_EveryServiceDisposedAndTheTurnKept([Values] bool synchronously)
    {
        var client = new ScriptedChatClient().EnqueueText("kept");
        var provider = BuildProvider(client);
        var sessions = provider.GetRequiredService<ISessionService>();
        var session = await sessions.CreateAsync();
        await sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "hello" });

        var dispose = () => DisposeAsync(provider, synchronously);

        await dispose.Should().NotThrowAsync();
        var messages = await ReadMessagesAsync(session.Id);
        messages.Select(m => m.Text).Should().Equal("hello", "kept");
    }

    [Test]
    public async Task Dispose_WhileATurnStreams_TurnCompletedAbortedAndPartialMessagePersisted([Values] bool synchronously)
    {
        var parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = new ScriptedChatClient();
        client.Enqueue(r => r.Text("Partial ").Text("answer").Then(() => parked.TrySetResult()).WaitForCancellation().Text("never"));
        var provider = BuildProvider(client);
        var sessions = provider.GetRequiredService<ISessionService>();
        var session = await sessions.CreateAsync();
        var turn = CaptureAsync(sessions.ChatStreamingAsync(new ChatRequest { SessionId = session.Id, Text = "go" }));
        await parked.Task;

        await DisposeAsync(provider, synchronously);
        var (events, error) = await turn;

        error.Should().BeNull("disposing the provider ends a running turn as aborted, never with an exception from a disposed store");
        var completed = events.Last().Should().BeOfType<TurnCompleted>().Subject;
        completed.ExitReason.Value.Should().Be("aborted");
        completed.Message.Text.Should().Be("Partial answer");
        var stored = (await ReadMessagesAsync(session.Id)).Single(m => m.Role == ChatRole.Assistant);
        stored.Text.Should().Be("Partial answer");
        stored.CompletedAt.Should().NotBeNull();
        stored.Error!.Kind.Should().Be(MessageErrorKind.Aborted);
    }

    [Test]
    public async Task ChatStreamingAsync_AfterDispose_ThrowsObjectDisposedExceptionNamingTheSessionService()
    {
        var provider = BuildProvider(new ScriptedChatClient().EnqueueText("never"));
        var sessions = provider.GetRequiredService<ISessionService>();
        var session = await sessions.CreateAsync();
        await provider.DisposeAsync();

        var act = () => sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "late" });

        (await act.Should().ThrowAsync<ObjectDisposedException>()).Which.ObjectName.Should().Be(nameof(ISessionService));
    }

    /// <summary>The session's messages, read through a new provider over the same store.</summary>
    protected async Task<IReadOnlyList<SessionMessage>> ReadMessagesAsync(string sessionId)
    {
        await using var provider = BuildProvider(new ScriptedChatClient());
        return await provider.GetRequiredService<ISessionService>().GetMessagesAsync(sessionId);
    }

    /// <summary>Disposes <paramref name="provider"/> the way a console app (<c>using</c>) or a host (<c>await using</c>) does.</summary>
    protected static async Task DisposeAsync(ServiceProvider provider, bool synchronously)
    {
        if (synchronously)
        {
            provider.Dispose();
        }
        else
        {
            await provider.DisposeAsync();
        }
    }

    /// <summary>Reads a turn's stream to its end: its events, and the exception it ended with, if any.</summary>
    protected static async Task<(List<SessionEvent> Events, Exception? Error)> CaptureAsync(IAsyncEnumerable<SessionEvent> stream)
    {
        var events = new List<SessionEvent>();
        try
        {
            await foreach (var e in stream)
            {
                events.Add(e);
            }
        }
        catch (Exception ex)
        {
            return (events, ex);
        }

        return (events, null);
    }
}
