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

    protected override async ValueTask<bool> DamageSessionAsync(ISessionStore store, SessionInfo session, SessionRecordDamage damage)
    {
        await ExecuteAsync("UPDATE sessions SET data = $json WHERE id = $id", session.Id, ("$json", DamagedSessionJson(session, damage)));
        return true;
    }

    protected override async ValueTask<bool> DamageMessageAsync(ISessionStore store, SessionMessage message, MessagePart part, MessageRecordDamage damage)
    {
        if (IsPartDamage(damage))
        {
            string type = damage == MessageRecordDamage.UnknownPartType ? "hologram" : "tool";
            await ExecuteAsync("UPDATE parts SET data = $json, type = $type WHERE message_id = $id AND id = $part", message.Id,
                ("$json", DamagedPartJson(part, damage)), ("$type", type), ("$part", part.Id));
            return true;
        }

        // Role and creation time are NOT NULL columns; a message's own fields hold no JSON to cut off or to mistype.
        string? set = damage switch
        {
            MessageRecordDamage.MissingId => "id = ''",
            MessageRecordDamage.MalformedId => "id = 'msg_../../etc/passwd'",
            MessageRecordDamage.BlankRole => "role = ''",
            MessageRecordDamage.WhiteSpaceRole => "role = '  '",
            MessageRecordDamage.BadCreatedAt => "created_at = 'yesterday'",
            MessageRecordDamage.CreatedAtOfWrongType => "created_at = 1.5",
            MessageRecordDamage.TokensOfWrongType => "input_tokens = 'many'",
            MessageRecordDamage.NegativeTokens => "input_tokens = -5",
            MessageRecordDamage.BadError => "error = '{'",
            _ => null,
        };
        if (set is null)
        {
            return false;
        }

        await ExecuteAsync($"UPDATE messages SET {set} WHERE id = $id", message.Id);
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

    private async Task ExecuteAsync(string sql, string id, params (string Name, string Value)[] parameters)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", id);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }
}
