using AgentCore.Testing;
using NUnit.Framework;
using Microsoft.Data.Sqlite;

namespace AgentCore.Sqlite.Tests;

/// <summary>Runs the store conformance suite against <see cref="SqliteSessionStore"/> in a temporary database file.</summary>
[TestFixture]
public sealed class SqliteSessionStoreConformanceTests : SessionStoreConformanceTests
{
    private string _directory = null!;

    private string DatabasePath => Path.Combine(_directory, "agentcore.db");

    protected override ISessionStore CreateStore()
    {
        _directory = Path.Combine(Path.GetTempPath(), "agentcore-sqlite-" + Guid.NewGuid().ToString("N"));
        return new SqliteSessionStore(DatabasePath);
    }

    protected override ISessionStore? CreateStoreOnSameData() => new SqliteSessionStore(DatabasePath);

    protected override async ValueTask<bool> CorruptSessionAsync(ISessionStore store, string sessionId)
    {
        await ExecuteAsync("UPDATE sessions SET data = '{\"id\": \"' || id || '\", \"title\": ' WHERE id = $id", sessionId);
        return true;
    }

    protected override async ValueTask<bool> CorruptMessageAsync(ISessionStore store, string sessionId, string messageId)
    {
        await ExecuteAsync("UPDATE messages SET created_at = 'not a time' WHERE id = $id", messageId);
        return true;
    }

    protected override async ValueTask<bool> MakeMessagesUnreadableAsync(ISessionStore store, string sessionId)
    {
        await ExecuteAsync("ALTER TABLE messages RENAME TO messages_moved_away", sessionId);
        return true;
    }

    protected override ValueTask CleanUpAsync()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }

        return ValueTask.CompletedTask;
    }

    private async Task ExecuteAsync(string sql, string id)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", id);
        await command.ExecuteNonQueryAsync();
    }
}
