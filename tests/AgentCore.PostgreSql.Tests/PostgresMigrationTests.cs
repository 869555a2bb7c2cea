using FluentAssertions;
using Npgsql;
using NUnit.Framework;
using AgentCore.TestInfrastructure;

namespace AgentCore.PostgreSql.Tests;

public sealed class PostgresMigrationTests
{
    private string _connectionString = null!;

    [SetUp]
    public void CreateDatabase() => _connectionString = PostgresServer.CreateDatabase();

    /// <summary>What schema 4 adds (the search column, its functions, triggers and index): dropped to make a schema 3 database.</summary>
    private const string DropSchema4 = """
        DROP TRIGGER agentcore_parts_search ON agentcore_parts;
        DROP TRIGGER agentcore_messages_search_insert ON agentcore_messages;
        DROP TRIGGER agentcore_messages_search_completed ON agentcore_messages;
        DROP FUNCTION agentcore_parts_search();
        DROP FUNCTION agentcore_messages_search();
        DROP FUNCTION agentcore_part_search(text, text, bytea);
        ALTER TABLE agentcore_parts DROP COLUMN search;
        """;

    /// <summary>What schema 5 adds (the messages stamps and their sequence): dropped to make a schema 4 database.</summary>
    private const string DropSchema5 = """
        DROP TABLE agentcore_message_stamps;
        DROP SEQUENCE agentcore_message_stamp_sequence;
        """;

    /// <summary>What schema 6 changes (the search index holds only searched parts): undone to make a schema 5 database.</summary>
    private const string UndoSchema6 = """
        DROP INDEX agentcore_parts_search;
        CREATE INDEX agentcore_parts_search ON agentcore_parts USING gin (search);
        DELETE FROM agentcore_schema_version WHERE version = 6;
        """;

    [Test]
    public async Task MigrateAsync_Schema5DatabaseWithMessages_SearchIndexHoldsOnlySearchedPartsAndSearchFindsThem()
    {
        var t0 = new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.Zero);
        var session = NewSession();
        var done = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = session.Id, Role = Microsoft.Extensions.AI.ChatRole.Assistant, CreatedAt = t0, CompletedAt = t0,
            Parts = [new StepStartPart { Id = AgentCoreIds.NewPartId(), StartedAt = t0 }, new TextPart { Id = AgentCoreIds.NewPartId(), Text = "the okapi migrated" }],
        };
        var open = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = session.Id, Role = Microsoft.Extensions.AI.ChatRole.Assistant, CreatedAt = t0.AddSeconds(1),
            Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = "an okapi still streaming" }],
        };
        await using (var writer = new PostgreSqlSessionStore(_connectionString))
        {
            await writer.SaveSessionAsync(session);
            await writer.SaveMessageAsync(done);
            await writer.SaveMessageAsync(open);
        }

        await ScalarAsync(UndoSchema6);
        (await ScalarAsync("SELECT indexdef FROM pg_indexes WHERE indexname = 'agentcore_parts_search'")).Should().BeOfType<string>().Which.Should().NotContain("WHERE");

        await using var store = new PostgreSqlSessionStore(_connectionString);
        await store.MigrateAsync();

        (await ScalarAsync("SELECT string_agg(version::text, ',' ORDER BY version) FROM agentcore_schema_version")).Should().Be("1,2,3,4,5,6");
        (await ScalarAsync("SELECT indexdef FROM pg_indexes WHERE indexname = 'agentcore_parts_search'")).Should().BeOfType<string>()
            .Which.Should().EndWith("WHERE (search IS NOT NULL)");
        (await store.GetMessagesAsync(session.Id)).Should().HaveCount(2);
        (await store.SearchAsync(new SessionSearchQuery("okapi"))).Select(static h => h.MessageId).Should().Equal(done.Id);
        open.CompletedAt = t0.AddSeconds(2);
        await store.SaveMessageAsync(open);
        (await store.SearchAsync(new SessionSearchQuery("okapi"))).Should().HaveCount(2);
    }

    [Test]
    public async Task SearchAsync_PartsOfTheSearchQuery_ReadThroughTheSearchIndex()
    {
        await using var store = new PostgreSqlSessionStore(_connectionString);
        await store.MigrateAsync();

        await using var command = PostgreSqlSearch.Command(new SessionSearchQuery("okapi"));
        string plan = await PlanAsync(command);

        plan.Should().Contain("agentcore_parts_search");
    }

    [Test]
    public async Task MigrateAsync_Schema3DatabaseWithMessages_IndexesThemSoSearchFindsThem()
    {
        var t0 = new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(1_234_567);
        var session = NewSession();
        var done = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = session.Id, Role = Microsoft.Extensions.AI.ChatRole.User, CreatedAt = t0, CompletedAt = t0,
            Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = "the pangolin migrated" }],
        };
        var open = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = session.Id, Role = Microsoft.Extensions.AI.ChatRole.Assistant, CreatedAt = t0.AddSeconds(1),
            Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = "a pangolin still streaming" }],
        };
        await using (var writer = new PostgreSqlSessionStore(_connectionString))
        {
            await writer.SaveSessionAsync(session);
            await writer.SaveMessageAsync(done);
            await writer.SaveMessageAsync(open);
        }

        await ScalarAsync(DropSchema5 + DropSchema4 + "DELETE FROM agentcore_schema_version WHERE version IN (4, 5, 6);");

        await using var store = new PostgreSqlSessionStore(_connectionString);
        await store.MigrateAsync();

        (await ScalarAsync("SELECT string_agg(version::text, ',' ORDER BY version) FROM agentcore_schema_version")).Should().Be("1,2,3,4,5,6");
        var hits = await store.SearchAsync(new SessionSearchQuery("pangolin"));
        hits.Select(static h => h.MessageId).Should().Equal(done.Id);
        hits[0].CreatedAt.Should().Be(t0);
        open.CompletedAt = t0.AddSeconds(2);
        await store.SaveMessageAsync(open);
        (await store.SearchAsync(new SessionSearchQuery("pangolin"))).Should().HaveCount(2);
    }

    [Test]
    public async Task SearchAsync_TextWithNulCharacters_StoredAndFound()
    {
        await using var store = new PostgreSqlSessionStore(_connectionString);
        var session = NewSession();
        await store.SaveSessionAsync(session);
        var message = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = session.Id, Role = Microsoft.Extensions.AI.ChatRole.Assistant,
            CreatedAt = session.CreatedAt, CompletedAt = session.CreatedAt,
            Parts =
            [
                new TextPart { Id = AgentCoreIds.NewPartId(), Text = "a\0nul\0 before the okapi" },
                new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "c", ToolName = "t", State = ToolState.Completed, Output = "okapi\0binary" },
            ],
        };

        await store.SaveMessageAsync(message);

        var hits = await store.SearchAsync(new SessionSearchQuery("okapi"));
        hits.Should().ContainSingle().Which.Snippet.Text.Should().Be("a nul  before the okapi");
        (await store.SearchAsync(new SessionSearchQuery("nul"))).Should().ContainSingle();
    }

    [Test]
    public async Task MigrateAsync_ManyInstancesAtOnce_MigrateOnceAndAllWork()
    {
        var stores = Enumerable.Range(0, 6).Select(_ => new PostgreSqlSessionStore(_connectionString)).ToList();
        var history = new PostgreSqlSessionHistory(_connectionString);
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var work = stores.Select(store => Task.Run(async () =>
        {
            await start.Task;
            await store.SaveSessionAsync(NewSession());
        })).Append(Task.Run(async () =>
        {
            await start.Task;
            await history.RecordStartAsync(new SessionHistoryEntry { SessionId = AgentCoreIds.NewSessionId() });
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(work);

        (await ScalarAsync("SELECT count(*) FROM agentcore_sessions")).Should().Be(6L);
        (await ScalarAsync("SELECT string_agg(version::text, ',' ORDER BY version) FROM agentcore_schema_version")).Should().Be("1,2,3,4,5,6");
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }

        await history.DisposeAsync();
    }

    [Test]
    public async Task MigrateAsync_Twice_KeepsDataAndVersion()
    {
        var session = NewSession();
        await using (var first = new PostgreSqlSessionStore(_connectionString))
        {
            await first.SaveSessionAsync(session);
        }

        await using var second = new PostgreSqlSessionStore(_connectionString);
        await second.MigrateAsync();
        await second.MigrateAsync();

        (await second.GetSessionAsync(session.Id)).Should().BeEquivalentTo(session);
        (await ScalarAsync("SELECT count(*) FROM agentcore_schema_version")).Should().Be((long)PostgreSqlDatabase.SchemaVersion);
    }

    [Test]
    public async Task MigrateAsync_NewerSchema_ThrowsNamingTheVersion()
    {
        await using (var store = new PostgreSqlSessionStore(_connectionString))
        {
            await store.MigrateAsync();
        }

        await ScalarAsync("INSERT INTO agentcore_schema_version (version) VALUES (99)");
        await using var older = new PostgreSqlSessionStore(_connectionString);

        await FluentActions.Awaiting(() => older.GetSessionAsync(AgentCoreIds.NewSessionId()).AsTask())
            .Should().ThrowAsync<InvalidOperationException>().WithMessage("*99*");
    }

    [Test]
    public async Task MigrateAsync_Schema1DatabaseWithMessages_CopiesThemToSchema2AndDropsTheOldTables()
    {
        // A database as schema 1 left it: two sessions' messages as JSON, and one message row that no longer parses.
        await ScalarAsync(PostgreSqlDatabase.Migrations[0] + """
            CREATE TABLE agentcore_schema_version (version integer NOT NULL PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
            INSERT INTO agentcore_schema_version (version) VALUES (1);
            """);
        string first = AgentCoreIds.NewSessionId(), second = AgentCoreIds.NewSessionId();
        var conversations = new Dictionary<string, List<SessionMessage>>
        {
            [first] = Schema1Rows.Conversation(first),
            [second] = Schema1Rows.Conversation(second),
        };
        await using (var connection = new NpgsqlConnection(_connectionString))
        {
            await connection.OpenAsync();
            foreach (var message in conversations.Values.SelectMany(static m => m))
            {
                await ExecuteAsync(connection, "INSERT INTO agentcore_messages (session_id, id, data) VALUES ($1, $2, $3)", message.SessionId, message.Id, Schema1Rows.MessageData(message));
                foreach (var (id, position, data, text) in Schema1Rows.PartRows(message))
                {
                    await ExecuteAsync(connection, "INSERT INTO agentcore_parts (session_id, message_id, id, position, data, text) VALUES ($1, $2, $3, $4, $5, $6)",
                        message.SessionId, message.Id, id, position, data, text);
                }
            }

            string corrupt = AgentCoreIds.NewMessageId();
            await ExecuteAsync(connection, "INSERT INTO agentcore_messages (session_id, id, data) VALUES ($1, $2, $3)", first, corrupt, "{\"id\": ");
            await ExecuteAsync(connection, "INSERT INTO agentcore_parts (session_id, message_id, id, position, data, text) VALUES ($1, $2, $3, 0, '{\"type\":\"text\"}', '\\x41')",
                first, corrupt, AgentCoreIds.NewPartId());
        }

        await using var store = new PostgreSqlSessionStore(_connectionString);
        await store.MigrateAsync();

        (await ScalarAsync("SELECT string_agg(version::text, ',' ORDER BY version) FROM agentcore_schema_version")).Should().Be("1,2,3,4,5,6");
        (await ScalarAsync("SELECT count(*) FROM pg_class WHERE relname LIKE 'agentcore_%v1%'")).Should().Be(0L);
        foreach (var (sessionId, expected) in conversations)
        {
            (await store.GetMessagesAsync(sessionId)).Select(Schema1Rows.Json).Should().Equal(expected.Select(Schema1Rows.Json));
        }

        // The copied text parts still take appends.
        var open = conversations[first][^1];
        var streaming = (TextPart)open.Parts[0];
        streaming.Text += " sentence.";
        await store.SavePartAsync(open, streaming, " sentence.");
        (await store.GetMessagesAsync(first))[^1].Text.Should().Be("Half a sentence.");
    }

    [Test]
    public async Task MigrateAsync_Schema2DatabaseWithSessions_FillsTheMetadataTableSoQueriesFindThem()
    {
        // A database as schema 2 left it: sessions with metadata (and one whose JSON no longer parses), no metadata table.
        var t0 = new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(1_234_567);
        var owned = Enumerable.Range(0, 3).Select(i => new SessionInfo
        {
            Id = AgentCoreIds.NewSessionId(), Title = $"s{i}", CreatedAt = t0.AddSeconds(i), UpdatedAt = t0.AddSeconds(i),
            Metadata = new Dictionary<string, string> { ["owner"] = i == 1 ? "grace" : "ada", ["tenant"] = "acme" },
        }).ToList();
        var corrupt = owned[0] with { Id = AgentCoreIds.NewSessionId(), CreatedAt = t0.AddSeconds(9) };
        await using (var writer = new PostgreSqlSessionStore(_connectionString))
        {
            foreach (var session in owned.Append(corrupt))
            {
                await writer.SaveSessionAsync(session);
            }
        }

        await ScalarAsync($"""
            DROP TABLE agentcore_session_metadata;
            DROP INDEX agentcore_sessions_by_parent;
            DROP INDEX agentcore_sessions_by_update;
            CREATE INDEX agentcore_sessions_by_parent ON agentcore_sessions (parent_id) WHERE parent_id IS NOT NULL;
            UPDATE agentcore_sessions SET data = '{"{\"id\": "}' WHERE id = '{corrupt.Id}';
            {DropSchema5}
            {DropSchema4}
            DELETE FROM agentcore_schema_version WHERE version IN (3, 4, 5, 6);
            """);

        await using var store = new PostgreSqlSessionStore(_connectionString);
        await store.MigrateAsync();

        (await ScalarAsync("SELECT string_agg(version::text, ',' ORDER BY version) FROM agentcore_schema_version")).Should().Be("1,2,3,4,5,6");
        (await ScalarAsync("SELECT count(*) FROM agentcore_session_metadata")).Should().Be(6L);
        var page = await store.ListSessionsAsync(new SessionQuery { Metadata = new Dictionary<string, string> { ["owner"] = "ada" } });
        page.Sessions.Select(static s => s.Id).Should().Equal(owned[2].Id, owned[0].Id);
        page.Sessions[0].Should().BeEquivalentTo(owned[2]);
    }

    [Test]
    public async Task ListSessionsAsync_QueryByOwnerOfManySessions_ReadsTheMetadataIndexInOrder()
    {
        await using var store = new PostgreSqlSessionStore(_connectionString);
        var t0 = DateTimeOffset.UtcNow;
        // One owner holds most sessions, so only reading its index range in order (and stopping after the page) is cheap.
        for (int i = 0; i < 600; i++)
        {
            await store.SaveSessionAsync(NewSession() with
            {
                CreatedAt = t0.AddSeconds(i),
                Metadata = new Dictionary<string, string> { ["owner"] = i % 6 == 0 ? "u" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) : "u7" },
            });
        }

        await ScalarAsync("ANALYZE agentcore_sessions; ANALYZE agentcore_session_metadata;");
        await using var command = PostgreSqlQueries.ListCommand(new SessionQuery { Metadata = new Dictionary<string, string> { ["owner"] = "u7" } }, after: null, limit: 51);
        command.CommandText = "EXPLAIN " + command.CommandText;
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        command.Connection = connection;
        var plan = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }
        }

        string text = string.Join("\n", plan);
        text.Should().Contain("agentcore_session_metadata_lookup").And.NotContain("Sort").And.NotContain("Seq Scan on agentcore_sessions");
    }

    [Test]
    public async Task GetMessagesAsync_PartsOfMessagesInterleaved_EachMessageGetsItsOwnInOrder()
    {
        await using var store = new PostgreSqlSessionStore(_connectionString);
        string sessionId = AgentCoreIds.NewSessionId();
        var messages = Schema1Rows.Conversation(sessionId);
        foreach (var message in messages)
        {
            await store.SaveMessageAsync(message);
        }

        // Parts added later to earlier messages, and a part row whose message row is gone.
        messages[0].Parts.Add(new ReasoningPart { Id = AgentCoreIds.NewPartId(), Text = "later" });
        await store.SavePartAsync(messages[0], messages[0].Parts[^1]);
        await ScalarAsync($"DELETE FROM agentcore_messages WHERE id = '{messages[1].Id}'");

        (await store.GetMessagesAsync(sessionId)).Select(Schema1Rows.Json).Should().Equal(new[] { messages[0], messages[2], messages[3] }.Select(Schema1Rows.Json));
    }

    [Test]
    public async Task SaveMessageAsync_Times_StoredAsTimestampsExactToTheTick()
    {
        await using var store = new PostgreSqlSessionStore(_connectionString);
        var message = Schema1Rows.Conversation(AgentCoreIds.NewSessionId())[2];

        await store.SaveMessageAsync(message);

        (await ScalarAsync("SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+' || created_at_extra_ticks FROM agentcore_messages"))
            .Should().Be(message.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture) + "+" + (message.CreatedAt.UtcTicks % 10));
        (await store.GetMessagesAsync(message.SessionId)).Single().CompletedAt.Should().Be(message.CompletedAt);
    }

    [Test]
    public async Task SaveSessionAsync_Totals_StoredAsColumns()
    {
        await using var store = new PostgreSqlSessionStore(_connectionString);
        var session = NewSession() with { Tokens = new TokenUsage(11, 22, 3, 44, 5), Cost = 1.25m };

        await store.SaveSessionAsync(session);

        (await ScalarAsync("SELECT concat_ws(',', input_tokens, output_tokens, reasoning_tokens, cache_read_tokens, cache_write_tokens, cost) FROM agentcore_sessions"))
            .Should().Be("11,22,3,44,5,1.25");
    }

    private static SessionInfo NewSession()
    {
        var now = DateTimeOffset.UtcNow;
        return new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = now, UpdatedAt = now };
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, params object?[] values)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (object? value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The plan of <paramref name="command"/> with sequential scans off: which indexes it can read.</summary>
    private async Task<string> PlanAsync(NpgsqlCommand command)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var off = new NpgsqlCommand("SET LOCAL enable_seqscan = off", connection, transaction))
        {
            await off.ExecuteNonQueryAsync();
        }

        command.Connection = connection;
        command.Transaction = transaction;
        command.CommandText = "EXPLAIN " + command.CommandText;
        var lines = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0));
        }

        return string.Join('\n', lines);
    }

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
