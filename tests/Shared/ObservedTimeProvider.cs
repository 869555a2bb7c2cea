using Microsoft.Extensions.Time.Testing;

namespace AgentCore.Tests.Shared;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also tells a test about the timers armed on it: how many are armed, a signal
/// when at least a number of them are, and an event with each due time as it is set. The clock, the timers and their
/// firing are <see cref="FakeTimeProvider"/>'s own; this class only watches <see cref="CreateTimer"/> and
/// <see cref="ITimer.Change"/>, so a test can wait for the code under test to start a delay instead of sleeping.
/// </summary>
internal sealed class ObservedTimeProvider : FakeTimeProvider
{
    /// <summary>Where the clock starts unless told otherwise: 2026-01-01 12:00 UTC.</summary>
    public static readonly DateTimeOffset DefaultStart = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly object _gate = new();
    private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];
    private int _armed;

    public ObservedTimeProvider()
        : this(DefaultStart)
    {
    }

    public ObservedTimeProvider(DateTimeOffset start)
        : base(start)
    {
    }

    /// <summary>Raised whenever a timer is armed, with its due time: a delay has started.</summary>
    public event Action<TimeSpan>? TimerScheduled;

    /// <summary>How many timers are armed (will fire on some future <see cref="FakeTimeProvider.Advance(TimeSpan)"/>).</summary>
    public int ArmedTimers
    {
        get
        {
            lock (_gate)
            {
                return _armed;
            }
        }
    }

    /// <summary>Completes once at least <paramref name="count"/> timers are armed.</summary>
    public Task WaitForTimersAsync(int count = 1)
    {
        lock (_gate)
        {
            if (_armed >= count)
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, signal));
            return signal.Task;
        }
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new WatchedTimer(this, callback);
        timer.Attach(base.CreateTimer(timer.Fire, state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
        timer.Change(dueTime, period);
        return timer;
    }

    private void Add(int delta)
    {
        lock (_gate)
        {
            _armed += delta;
        }
    }

    private void ReleaseWaiters()
    {
        List<TaskCompletionSource> ready = [];
        lock (_gate)
        {
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_armed >= _waiters[i].Count)
                {
                    ready.Add(_waiters[i].Signal);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var signal in ready)
        {
            signal.TrySetResult();
        }
    }

    private sealed class WatchedTimer(ObservedTimeProvider owner, TimerCallback callback) : ITimer
    {
        private readonly object _gate = new();
        private ITimer? _inner;
        private bool _armed;
        private bool _periodic;
        private bool _disposed;

        public void Attach(ITimer inner) => _inner = inner;

        public void Fire(object? state)
        {
            if (!_periodic)
            {
                Disarm();
            }

            callback(state);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            bool arm = dueTime != Timeout.InfiniteTimeSpan;
            lock (_gate)
            {
                if (_disposed)
                {
                    return false;
                }

                _periodic = period != Timeout.InfiniteTimeSpan && period != TimeSpan.Zero;
            }

            Disarm();
            if (arm)
            {
                lock (_gate)
                {
                    _armed = true;
                }

                owner.Add(+1);
            }

            // Armed in the fake clock before anyone hears of it, so an Advance made on the signal fires it.
            bool changed = _inner!.Change(dueTime, period);
            if (arm)
            {
                owner.ReleaseWaiters();
                owner.TimerScheduled?.Invoke(dueTime);
            }

            return changed;
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _disposed = true;
            }

            Disarm();
            _inner?.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        private void Disarm()
        {
            lock (_gate)
            {
                if (!_armed)
                {
                    return;
                }

                _armed = false;
            }

            owner.Add(-1);
        }
    }
}
