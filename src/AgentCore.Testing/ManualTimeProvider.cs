namespace AgentCore.Testing;

/// <summary>
/// A <see cref="TimeProvider"/> that only moves when a test calls <see cref="Advance"/>: the clock, the
/// timestamp and every timer created through it (so <c>Task.Delay(delay, provider)</c> completes exactly
/// when the test advances past its due time, never on its own).
/// </summary>
/// <remarks>
/// Timer callbacks run synchronously on the thread that calls <see cref="Advance"/>, in due-time order
/// (ties in creation order), outside the provider's lock. A timer due now (due time zero) fires on the next
/// <see cref="Advance"/>, even <c>Advance(TimeSpan.Zero)</c>. <see cref="WaitForTimersAsync"/> lets a test
/// wait, without sleeping, until the code under test has armed its timers. Register it as the app's
/// <see cref="TimeProvider"/> to test retries, throttling and durations without waiting.
/// </remarks>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly object _gate = new();
    private readonly DateTimeOffset _start;
    private readonly List<ManualTimer> _timers = [];
    private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];
    private long _elapsedTicks;
    private long _nextSequence;

    /// <summary>Creates a clock at 2026-01-01 12:00 UTC.</summary>
    public ManualTimeProvider()
        : this(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero))
    {
    }

    /// <summary>Creates a clock at <paramref name="start"/>.</summary>
    /// <param name="start">The clock's first reading.</param>
    public ManualTimeProvider(DateTimeOffset start) => _start = start;

    /// <summary>Raised (outside the lock) whenever a timer is armed, with its due time: lets a test see a delay start.</summary>
    public event Action<TimeSpan>? TimerScheduled;

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>When each armed timer fires next, earliest first.</summary>
    public IReadOnlyList<DateTimeOffset> PendingTimers
    {
        get
        {
            lock (_gate)
            {
                return _timers.Where(static t => t.DueAt is not null).Select(t => _start + TimeSpan.FromTicks(t.DueAt!.Value)).Order().ToList();
            }
        }
    }

    /// <summary>How many timers are armed (will fire on some future <see cref="Advance"/>).</summary>
    public int ArmedTimers
    {
        get
        {
            lock (_gate)
            {
                return _timers.Count(static t => t.DueAt is not null);
            }
        }
    }

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _start + TimeSpan.FromTicks(_elapsedTicks);
        }
    }

    /// <inheritdoc />
    public override long GetTimestamp()
    {
        lock (_gate)
        {
            return _elapsedTicks;
        }
    }

    /// <summary>Moves time forward by <paramref name="delta"/>, firing every timer that falls due on the way.</summary>
    /// <param name="delta">How far to move the clock; not negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delta"/> is negative.</exception>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        long target;
        lock (_gate)
        {
            target = _elapsedTicks + delta.Ticks;
        }

        while (true)
        {
            ManualTimer? due;
            lock (_gate)
            {
                due = _timers
                    .Where(t => t.DueAt is { } at && at <= target)
                    .OrderBy(static t => t.DueAt)
                    .ThenBy(static t => t.Sequence)
                    .FirstOrDefault();
                if (due is null)
                {
                    _elapsedTicks = target;
                    return;
                }

                _elapsedTicks = Math.Max(_elapsedTicks, due.DueAt!.Value);
                due.DueAt = due.PeriodTicks > 0 ? due.DueAt + due.PeriodTicks : null;
            }

            due.Callback(due.State);
        }
    }

    /// <summary>Completes once at least <paramref name="count"/> timers are armed.</summary>
    /// <param name="count">How many armed timers to wait for.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the timers are armed.</returns>
    public Task WaitForTimersAsync(int count = 1, CancellationToken cancellationToken = default)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_timers.Count(static t => t.DueAt is not null) >= count)
            {
                return Task.CompletedTask;
            }

            _waiters.Add((count, signal));
        }

        return signal.Task.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        ManualTimer timer;
        lock (_gate)
        {
            timer = new ManualTimer(this, callback, state, _nextSequence++);
            _timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    private void Arm(ManualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        List<TaskCompletionSource> ready = [];
        lock (_gate)
        {
            if (!_timers.Contains(timer))
            {
                return;
            }

            timer.DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : _elapsedTicks + dueTime.Ticks;
            timer.PeriodTicks = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
            int armed = _timers.Count(static t => t.DueAt is not null);
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (armed >= _waiters[i].Count)
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

        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            TimerScheduled?.Invoke(dueTime);
        }
    }

    private void Remove(ManualTimer timer)
    {
        lock (_gate)
        {
            _timers.Remove(timer);
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state, long sequence) : ITimer
    {
        private bool _disposed;

        public TimerCallback Callback { get; } = callback;

        public object? State { get; } = state;

        public long Sequence { get; } = sequence;

        /// <summary>The elapsed ticks at which the timer fires next; null when disarmed.</summary>
        public long? DueAt { get; set; }

        public long PeriodTicks { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(dueTime, Timeout.InfiniteTimeSpan);
            ArgumentOutOfRangeException.ThrowIfLessThan(period, Timeout.InfiniteTimeSpan);
            if (Volatile.Read(ref _disposed))
            {
                return false;
            }

            owner.Arm(this, dueTime, period);
            return true;
        }

        public void Dispose()
        {
            Volatile.Write(ref _disposed, true);
            owner.Remove(this);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
