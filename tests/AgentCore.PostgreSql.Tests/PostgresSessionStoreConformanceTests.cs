using AgentCore.Testing;
using Npgsql;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary>Runs the store conformance suite against <see cref="PostgreSqlSessionStore"/>, a new database for each test.</summary>
[TestFixture]
public sealed class PostgresSessionStoreConformanceTests : SessionStoreConformanceTests
{
    private string _connectionString = null!;

    protected override ISessionStore CreateStore()
    {
        _connectionString = PostgresServer.CreateDatabase();
        return new PostgreSqlSessionStore(_connectionString);
    }

    protected override ISessionStore? CreateStoreOnSameData() => new PostgreSqlSessionStore(_connectionString);

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

    protected override async ValueTask<bool> DamageSessionAsync(ISessionStore store, SessionInfo session, SessionRecordDamage damage)
    {
        await ExecuteAsync("UPDATE agentcore_sessions SET data = $2 WHERE id = $1", session.Id, DamagedSessionJson(session, damage));
        return true;
    }

    protected override async ValueTask<bool> DamageMessageAsync(ISessionStore store, SessionMessage message, MessagePart part, MessageRecordDamage damage)
    {
        if (IsPartDamage(damage))
        {
            string type = damage == MessageRecordDamage.UnknownPartType ? "hologram" : "tool";
            await ExecuteAsync("UPDATE agentcore_parts SET data = $2, type = $3 WHERE message_id = $1 AND id = $4", message.Id,
                DamagedPartJson(part, damage), type, part.Id);
            return true;
        }

        // Role and creation time are NOT NULL columns and the others are typed: only these damages fit the schema.
        string? set = damage switch
        {
            MessageRecordDamage.MissingId => "id = ''",
            MessageRecordDamage.MalformedId => "id = 'msg_../../etc/passwd'",
            MessageRecordDamage.BlankRole => "role = ''",
            MessageRecordDamage.WhiteSpaceRole => "role = '  '",
            MessageRecordDamage.BadCreatedAt => "created_at = 'infinity'",
            MessageRecordDamage.CreatedAtOfWrongType => "created_at_extra_ticks = 99",
            MessageRecordDamage.NegativeTokens => "input_tokens = -5",
            MessageRecordDamage.BadError => "error = '{'",
            _ => null,
        };
        if (set is null)
        {
            return false;
        }

        await ExecuteAsync($"UPDATE agentcore_messages SET {set} WHERE id = $1", message.Id);
        return true;
    }

    protected override async ValueTask<bool> MakeMessagesUnreadableAsync(ISessionStore store, string sessionId)
    {
        await ExecuteAsync("ALTER TABLE agentcore_messages RENAME TO agentcore_messages_moved_away", null);
        return true;
    }

    private async Task ExecuteAsync(string sql, string? id, params string[] more)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        if (id is not null)
        {
            command.Parameters.AddWithValue(id);
        }

        foreach (string value in more)
        {
            command.Parameters.AddWithValue(value);
        }

        await command.ExecuteNonQueryAsync();
    }
}
