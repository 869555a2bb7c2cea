using AgentCore.Storage.Worker;
using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

/// <summary>Tool approval asked in one process and answered in another, on one SQLite file.</summary>
[TestFixture]
public sealed class SqliteTwoProcessApprovalTests : TwoProcessApprovalTests
{
    private string _directory = null!;

    protected override string Backend => "sqlite";

    protected override string Target => Path.Combine(_directory, "agentcore.db");

    protected override string DataDirectory => _directory;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("agentcore-sqlite-approval-").FullName;

    [TearDown]
    public void DeleteDirectory()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override ISessionStore OpenStore() => new SqliteSessionStore(Target);
}
