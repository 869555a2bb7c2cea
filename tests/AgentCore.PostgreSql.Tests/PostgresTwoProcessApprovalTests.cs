using AgentCore.Storage.Worker;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary>Tool approval asked in one process and answered in another, on one PostgreSQL database.</summary>
[TestFixture]
public sealed class PostgresTwoProcessApprovalTests : TwoProcessApprovalTests
{
    private string _connectionString = null!;
    private string _directory = null!;

    protected override string Backend => "postgres";

    protected override string Target => _connectionString;

    protected override string DataDirectory => _directory;

    [SetUp]
    public void CreateDatabase()
    {
        _connectionString = PostgresServer.CreateDatabase();
        _directory = Directory.CreateTempSubdirectory("agentcore-pg-approval-").FullName;
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    protected override ISessionStore OpenStore() => new PostgresSessionStore(_connectionString);
}
