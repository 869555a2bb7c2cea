using AgentCore.TestInfrastructure;
using NUnit.Framework;

namespace AgentCore.Tests.Sessions;

/// <summary>The lifecycle suite over the default file store, a new folder for each store.</summary>
[TestFixture]
public sealed class FileStoreSessionLifecycleTests : SessionLifecycleTests
{
    private readonly List<string> _directories = [];

    protected override ISessionStore CreateStore()
    {
        string directory = Directory.CreateTempSubdirectory("agentcore-lifecycle-store-").FullName;
        _directories.Add(directory);
        return new FileSessionStore(directory);
    }

    protected override ValueTask CleanUpAsync()
    {
        foreach (string directory in _directories)
        {
            Directory.Delete(directory, recursive: true);
        }

        _directories.Clear();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The lifecycle suite over <see cref="InMemorySessionStore"/>.</summary>
[TestFixture]
public sealed class InMemoryStoreSessionLifecycleTests : SessionLifecycleTests
{
    protected override ISessionStore CreateStore() => new InMemorySessionStore();
}
