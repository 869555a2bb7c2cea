namespace AgentCore;

/// <summary>Full-text search over every session, delegated to the store.</summary>
internal sealed partial class SessionService
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionSearchHit>> SearchAsync(SessionSearchQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        cancellationToken.ThrowIfCancellationRequested();
        return await Store.SearchAsync(query, cancellationToken).ConfigureAwait(false);
    }
}
