using AgentCore.Testing;
using Npgsql;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary>Runs the store conformance suite against <see cref="PostgresSessionStore"/>, a new database for each test.</summary>
[TestFixture]
public sealed class PostgresSessionStoreConformanceTests : SessionStoreConformanceTests
{
    private string _connectionString = null!;

    protected override ISessionStore CreateStore()
    {
        _connectionString = PostgresServer.CreateDatabase();
        return new PostgresSessionStore(_connectionString);
    }

    protected override ISessionStore? CreateStoreOnSameData() => new PostgresSessionStore(_connectionString);

    protected override async ValueTask<bool> CorruptSessionAsync(ISessionStore store, string sessionId)
    {
        await ExecuteAsync("UPDATE agentcore_sessions SET data = '{\"id\": \"' || id || '\", \"title\": ' WHERE id = $1", sessionId);
        return true;
    }

    protected override async ValueTask<bool> CorruptMessageAsync(ISessionStore store, string sessionId, string messageId)
    {
        await ExecuteAsync("UPDATE agentcore_messages SET role = '' WHERE id = $1", messageId);
        return true;
    }

    protected override async ValueTask<bool> MakeMessagesUnreadableAsync(ISessionStore store, string sessionId)
    {
        await ExecuteAsync("ALTER TABLE agentcore_messages RENAME TO agentcore_messages_moved_away", null);
        return true;
    }

    private async Task ExecuteAsync(string sql, string? id)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        if (id is not null)
        {
            command.Parameters.AddWithValue(id);
        }

        await command.ExecuteNonQueryAsync();
    }
}
