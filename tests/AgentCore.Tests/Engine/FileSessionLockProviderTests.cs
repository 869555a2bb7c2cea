namespace AgentCore.Tests.Engine;

public sealed class FileSessionLockProviderTests
{
    private string _directory = null!;
    private readonly List<IAsyncDisposable> _disposables = [];

    private string LockDirectory => Path.Combine(_directory, "locks");

    [SetUp]
    public void CreateDirectory() =>
        _directory = Path.Combine(Path.GetTempPath(), "agentcore-lock-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public async Task CleanUp()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public async Task RequestAbortAsync_HolderInAnotherProvider_CancelsAtItsNextPoll()
    {
        var time = new FakeTimeProvider();
        var holder = NewProvider(time);
        string sessionId = AgentCoreIds.NewSessionId();
        await using var lease = await holder.TryAcquireAsync(sessionId);
        time.Advance(PollInterval);
        lease!.AbortRequested.IsCancellationRequested.Should().BeFalse();

        (await NewProvider().RequestAbortAsync(sessionId)).Should().BeTrue();
        time.Advance(PollInterval);

        lease.AbortRequested.IsCancellationRequested.Should().BeTrue();
    }

    [Test]
    public async Task TryAcquireAsync_AbortRequestedBeforeAcquiring_NewLeaseNotAborted()
    {
        var time = new FakeTimeProvider();
        string sessionId = AgentCoreIds.NewSessionId();
        var other = NewProvider(new FakeTimeProvider()); // its lease never polls, so the marker stays
        var earlier = await other.TryAcquireAsync(sessionId);
        (await NewProvider().RequestAbortAsync(sessionId)).Should().BeTrue(); // reaches the earlier holder's folder, but it leaves unaborted
        await earlier!.DisposeAsync();

        await using var lease = await NewProvider(time).TryAcquireAsync(sessionId);
        time.Advance(PollInterval);

        lease!.AbortRequested.IsCancellationRequested.Should().BeFalse();
    }

    [Test]
    public async Task AllMethods_InvalidSessionId_ThrowArgumentExceptionNamingIt()
    {
        var provider = NewProvider();
        foreach (string bad in new[] { "../ses_x", "ses_a/b", "ses_../../etc" })
        {
            await FluentActions.Awaiting(() => provider.TryAcquireAsync(bad).AsTask())
                .Should().ThrowAsync<ArgumentException>().WithMessage($"*{bad}*");
            await FluentActions.Awaiting(() => provider.RequestAbortAsync(bad).AsTask())
                .Should().ThrowAsync<ArgumentException>().WithMessage($"*{bad}*");
        }

        Directory.Exists(Path.Combine(_directory, "etc")).Should().BeFalse();
    }

    private static TimeSpan PollInterval => FileSessionLockProvider.DefaultAbortPollInterval;

    private FileSessionLockProvider NewProvider(TimeProvider? time = null)
    {
        var provider = new FileSessionLockProvider(LockDirectory, time);
        _disposables.Add(provider);
        return provider;
    }
}
