using AgentCore.Tests.Shared;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

/// <summary>Tool approval and guard rails on the default file store (in the test's data directory).</summary>
[TestFixture]
public sealed class FileGuardRailTests : GuardRailStoreTests
{
    protected override void UseStore(IAgentCoreBuilder builder)
    {
        // The default: the file store in AgentCoreOptions.DataDirectory.
    }
}

/// <summary>Tool approval and guard rails on the in-memory store (a restart keeps the same service provider).</summary>
[TestFixture]
public sealed class InMemoryGuardRailTests : GuardRailStoreTests
{
    protected override bool Durable => false;

    protected override void UseStore(IAgentCoreBuilder builder) => builder.UseInMemoryStore();
}

/// <summary>Sub-agents in child sessions on the default file store.</summary>
[TestFixture]
public sealed class FileChildSessionTests : ChildSessionStoreTests
{
    protected override void UseStore(IAgentCoreBuilder builder)
    {
        // The default: the file store in AgentCoreOptions.DataDirectory.
    }
}

/// <summary>Sub-agents in child sessions on the in-memory store.</summary>
[TestFixture]
public sealed class InMemoryChildSessionTests : ChildSessionStoreTests
{
    protected override bool Durable => false;

    protected override void UseStore(IAgentCoreBuilder builder) => builder.UseInMemoryStore();
}
