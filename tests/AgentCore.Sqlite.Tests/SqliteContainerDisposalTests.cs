using AgentCore.TestInfrastructure;

namespace AgentCore.Sqlite.Tests;

/// <summary>Disposing the container of an app on <c>UseSqlite</c> (store and cross-process lock), synchronously and asynchronously.</summary>
public sealed class SqliteContainerDisposalTests : ContainerDisposalTests
{
    protected override void UseStore(IAgentCoreBuilder builder) => builder.UseSqlite(Path.Combine(DataDirectory, "agentcore.db"));
}
