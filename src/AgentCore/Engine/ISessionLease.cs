namespace AgentCore;

/// <summary>A held session lock.</summary>
public interface ISessionLease : IAsyncDisposable
{
    /// <summary>The locked session.</summary>
    string SessionId { get; }

    /// <summary>Cancelled when <see cref="ISessionLockProvider.RequestAbortAsync"/> is called for the session.</summary>
    CancellationToken AbortRequested { get; }
}
