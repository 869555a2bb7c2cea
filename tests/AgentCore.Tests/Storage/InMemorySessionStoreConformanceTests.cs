using AgentCore.Testing;
using NUnit.Framework;

namespace AgentCore.Tests.Storage;

/// <summary>Runs the store conformance suite against <see cref="InMemorySessionStore"/>.</summary>
/// <remarks>The in-memory store serializes what it keeps itself, so it cannot hold corrupt data: the corruption tests report as ignored.</remarks>
[TestFixture]
public sealed class InMemorySessionStoreConformanceTests : SessionStoreConformanceTests
{
    protected override ISessionStore CreateStore() => new InMemorySessionStore();
}
