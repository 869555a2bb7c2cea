namespace AgentCore.Tests.TestingPackage;

public sealed class ManualTimeProviderTests
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 8, 0, 0, TimeSpan.Zero);

    [Test]
    public void Advance_Always_MovesClockAndTimestamp()
    {
        var time = new ManualTimeProvider(Start);
        long before = time.GetTimestamp();

        time.Advance(TimeSpan.FromSeconds(90));

        time.GetUtcNow().Should().Be(Start.AddSeconds(90));
        time.GetElapsedTime(before).Should().Be(TimeSpan.FromSeconds(90));
    }

    [Test]
    public void Advance_Negative_Throws() =>
        FluentActions.Invoking(() => new ManualTimeProvider().Advance(TimeSpan.FromTicks(-1)))
            .Should().Throw<ArgumentOutOfRangeException>();

    [Test]
    public async Task TaskDelay_AdvancedPastItsDueTime_CompletesThenAndNotBefore()
    {
        var time = new ManualTimeProvider(Start);
        var delay = Task.Delay(TimeSpan.FromSeconds(10), time);

        time.Advance(TimeSpan.FromMilliseconds(9_999));
        delay.IsCompleted.Should().BeFalse();
        time.Advance(TimeSpan.FromMilliseconds(1));

        await delay.WaitAsync(TimeSpan.FromSeconds(30));
        time.ArmedTimers.Should().Be(0);
    }

    [Test]
    public async Task WaitForTimersAsync_DelayStartedElsewhere_CompletesOnceArmed()
    {
        var time = new ManualTimeProvider(Start);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiting = Task.Run(async () =>
        {
            await go.Task;
            await Task.Delay(TimeSpan.FromMinutes(1), time);
            return time.GetUtcNow();
        });
        var armed = time.WaitForTimersAsync(1);
        armed.IsCompleted.Should().BeFalse();

        go.SetResult();
        await armed.WaitAsync(TimeSpan.FromSeconds(30));
        time.Advance(TimeSpan.FromMinutes(2));

        (await waiting.WaitAsync(TimeSpan.FromSeconds(30))).Should().Be(Start.AddMinutes(2));
    }

    [Test]
    public void CreateTimer_Periodic_FiresOncePerPeriodWithTheClockAtItsDueTime()
    {
        var time = new ManualTimeProvider(Start);
        var fired = new List<DateTimeOffset>();
        using var timer = time.CreateTimer(_ => fired.Add(time.GetUtcNow()), null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));

        time.Advance(TimeSpan.FromSeconds(35));

        fired.Should().Equal(Start.AddSeconds(10), Start.AddSeconds(20), Start.AddSeconds(30));
        time.GetUtcNow().Should().Be(Start.AddSeconds(35));
    }

    [Test]
    public void CreateTimer_Several_FireInDueOrder()
    {
        var time = new ManualTimeProvider(Start);
        var fired = new List<string>();
        using var late = time.CreateTimer(_ => fired.Add("late"), null, TimeSpan.FromSeconds(3), Timeout.InfiniteTimeSpan);
        using var early = time.CreateTimer(_ => fired.Add("early"), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        using var tie = time.CreateTimer(_ => fired.Add("tie"), null, TimeSpan.FromSeconds(3), Timeout.InfiniteTimeSpan);

        time.Advance(TimeSpan.FromSeconds(5));

        fired.Should().Equal("early", "late", "tie");
    }

    [Test]
    public void CreateTimer_ChangedDisposedOrInfinite_DoesNotFire()
    {
        var time = new ManualTimeProvider(Start);
        int fired = 0;
        var disposed = time.CreateTimer(_ => fired++, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        using var never = time.CreateTimer(_ => fired += 100, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        using var moved = time.CreateTimer(_ => fired += 10, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        disposed.Dispose();
        moved.Change(TimeSpan.FromSeconds(20), Timeout.InfiniteTimeSpan).Should().BeTrue();

        time.Advance(TimeSpan.FromSeconds(10));
        fired.Should().Be(0);
        disposed.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan).Should().BeFalse();

        time.Advance(TimeSpan.FromSeconds(10));
        fired.Should().Be(10);
    }

    [Test]
    public void CreateTimer_DueNow_FiresOnTheNextAdvance()
    {
        var time = new ManualTimeProvider(Start);
        int fired = 0;
        using var timer = time.CreateTimer(_ => fired++, null, TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        fired.Should().Be(0);

        time.Advance(TimeSpan.Zero);

        fired.Should().Be(1);
    }

    [Test]
    public void CancellationTokenSource_WithThisClock_CancelsWhenAdvanced()
    {
        var time = new ManualTimeProvider(Start);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30), time);

        time.Advance(TimeSpan.FromSeconds(29));
        cts.IsCancellationRequested.Should().BeFalse();
        time.Advance(TimeSpan.FromSeconds(1));

        cts.IsCancellationRequested.Should().BeTrue();
    }
}
