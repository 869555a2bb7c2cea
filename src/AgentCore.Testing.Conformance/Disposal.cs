namespace AgentCore.Testing;

/// <summary>Disposes what a conformance test created, whichever disposal it offers.</summary>
internal static class Disposal
{
    /// <summary>Disposes <paramref name="resource"/> asynchronously when it can, else synchronously; nothing when it is neither.</summary>
    /// <param name="resource">A store or lock provider the test created.</param>
    /// <returns>A task that completes when it is disposed.</returns>
    public static async ValueTask DisposeAsync(object resource)
    {
        switch (resource)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }
}
