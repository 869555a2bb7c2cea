namespace AgentCore;

/// <summary>
/// The synchronous <c>Dispose</c> of AgentCore's services that dispose asynchronously, for a container disposed with
/// <c>using var provider = services.BuildServiceProvider();</c>.
/// </summary>
/// <remarks>
/// The asynchronous disposal runs on the thread pool and the calling thread blocks until it ends. It never resumes on
/// the caller's <see cref="SynchronizationContext"/> (a UI thread, or a context that runs one item at a time), so it
/// cannot deadlock waiting for a thread it is blocking. Prefer <c>await using</c> where the caller can await. Linked source
/// (<c>src/Shared</c>), compiled into each package that needs it as an internal type.
/// </remarks>
internal static class SynchronousDisposal
{
    /// <summary>Runs <paramref name="disposeAsync"/> off the caller's context and waits for it; its exception is rethrown as is.</summary>
    public static void Run(Func<ValueTask> disposeAsync)
    {
        if (SynchronizationContext.Current is null && TaskScheduler.Current == TaskScheduler.Default)
        {
            var pending = disposeAsync();
            if (pending.IsCompletedSuccessfully)
            {
                return;
            }

            pending.AsTask().GetAwaiter().GetResult();
            return;
        }

        Task.Run(() => disposeAsync().AsTask()).GetAwaiter().GetResult();
    }
}
