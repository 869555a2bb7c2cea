using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

/// <summary>Tests over a SQLite database file of their own: a fresh temp folder per test, deleted after it.</summary>
public abstract class SqliteFileTests
{
    /// <summary>The test's temp folder.</summary>
    protected string TestDirectory { get; private set; } = null!;

    /// <summary>The database file the test uses (not created).</summary>
    protected string DatabasePath => Path.Combine(TestDirectory, "agentcore.db");

    [SetUp]
    public void CreateTestDirectory() => TestDirectory = Directory.CreateTempSubdirectory("agentcore-sqlite-").FullName;

    /// <summary>Runs <paramref name="sql"/> on a connection of its own to <see cref="DatabasePath"/> (e.g. to add a trigger).</summary>
    protected async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [TearDown]
    public void DeleteTestDirectory()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(TestDirectory, recursive: true);
    }
}
