using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using AgentCore.TestInfrastructure;

namespace AgentCore.Sqlite.Tests;

/// <summary>What the SQLite store does beyond the conformance suite: schema, migrations, busy handling, registration.</summary>
public sealed class SqliteSessionStoreTests
{
    private static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(1_234_567);

    private string _directory = null!;

    private string DatabasePath => Path.Combine(_directory, "nested", "agentcore.db");

    [SetUp]
    public void CreateDirectory() =>
        _directory = Path.Combine(Path.GetTempPath(), "agentcore-sqlite-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void DeleteDirectory()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public async Task MigrateAsync_NewFile_RunsOnTheBundledSqlite353OrNewer()
    {
        using var store = new SqliteSessionStore(DatabasePath);

        await store.MigrateAsync();

        var version = Version.Parse((string)(await ScalarAsync("SELECT sqlite_version()"))!);
        version.Should().BeGreaterThanOrEqualTo(new Version(3, 53), "SQLitePCLRaw.bundle_e_sqlite3 3.0.5 bundles SQLite 3.53");
    }

    [Test]
    public async Task MigrateAsync_NewFile_CreatesSchemaInWalMode()
    {
        using var store = new SqliteSessionStore(DatabasePath);

        await store.MigrateAsync();

        (await ScalarAsync("PRAGMA user_version")).Should().Be((long)SqliteSessionStore.SchemaVersion);
        (await ScalarAsync("PRAGMA journal_mode")).Should().Be("wal");
        (await ScalarAsync("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'sessions_newest_first'")).Should().Be(1L);
    }

    [Test]
    public async Task MigrateAsync_ManyStoresAtOnce_MigrateOnceAndAllWork()
    {
        var stores = Enumerable.Range(0, 6).Select(_ => new SqliteSessionStore(DatabasePath)).ToList();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var saves = stores.Select(store => Task.Run(async () =>
        {
            await start.Task;
            await store.SaveSessionAsync(NewSession());
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(saves);

        (await ScalarAsync("SELECT count(*) FROM sessions")).Should().Be(6L);
        (await ScalarAsync("PRAGMA user_version")).Should().Be((long)SqliteSessionStore.SchemaVersion);
        stores.ForEach(static s => s.Dispose());
    }

    [Test]
    public async Task MigrateAsync_AlreadyMigrated_KeepsData()
    {
        var session = NewSession();
        using (var first = new SqliteSessionStore(DatabasePath))
        {
            await first.SaveSessionAsync(session);
        }

        using var second = new SqliteSessionStore(DatabasePath);
        await second.MigrateAsync();

        (await second.GetSessionAsync(session.Id)).Should().BeEquivalentTo(session);
    }

    [Test]
    public async Task MigrateAsync_NewerSchema_ThrowsNamingTheVersion()
    {
        using (var store = new SqliteSessionStore(DatabasePath))
        {
            await store.MigrateAsync();
        }

        await ExecuteAsync("PRAGMA user_version = 99");
        using var older = new SqliteSessionStore(DatabasePath);

        await FluentActions.Awaiting(() => older.GetSessionAsync(AgentCoreIds.NewSessionId()).AsTask())
            .Should().ThrowAsync<InvalidOperationException>().WithMessage("*99*");
    }

    /// <summary>What schema 4 adds (the search index and its triggers): dropped to make a schema 3 database.</summary>
    private const string DropSchema4 = """
        DROP TRIGGER parts_search_insert;
        DROP TRIGGER parts_search_update;
        DROP TRIGGER parts_search_delete;
        DROP TRIGGER messages_search_completed;
        DROP TRIGGER messages_search_reopened;
        DROP TRIGGER messages_search_insert;
        DROP TRIGGER messages_search_delete;
        DROP TABLE parts_search;
        """;

    [Test]
    public async Task MigrateAsync_NewFile_HasFts5AndTheSearchIndex()
    {
        using var store = new SqliteSessionStore(DatabasePath);

        await store.MigrateAsync();

        (await ScalarAsync("SELECT sqlite_compileoption_used('ENABLE_FTS5')")).Should().Be(1L);
        (await ScalarAsync("SELECT count(*) FROM sqlite_master WHERE name = 'parts_search'")).Should().Be(1L);
        (await ScalarAsync("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")).Should().Be(7L);
    }

    [Test]
    public async Task MigrateAsync_Schema3DatabaseWithMessages_IndexesThemSoSearchFindsThem()
    {
        var session = new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = T0, UpdatedAt = T0 };
        var done = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = session.Id, Role = Microsoft.Extensions.AI.ChatRole.User, CreatedAt = T0, CompletedAt = T0,
            Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = "the pangolin migrated" }],
        };
        var open = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = session.Id, Role = Microsoft.Extensions.AI.ChatRole.Assistant, CreatedAt = T0.AddSeconds(1),
            Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = "a pangolin still streaming" }],
        };
        using (var writer = new SqliteSessionStore(DatabasePath))
        {
            await writer.SaveSessionAsync(session);
            await writer.SaveMessageAsync(done);
            await writer.SaveMessageAsync(open);
        }

        SqliteConnection.ClearAllPools();
        await ExecuteAsync(DropSchema4 + "PRAGMA user_version = 3;");

        using var store = new SqliteSessionStore(DatabasePath);
        await store.MigrateAsync();

        (await ScalarAsync("PRAGMA user_version")).Should().Be((long)SqliteSessionStore.SchemaVersion);
        (await store.SearchAsync(new SessionSearchQuery("pangolin"))).Select(static h => h.MessageId).Should().Equal(done.Id);
        open.CompletedAt = T0.AddSeconds(2);
        await store.SaveMessageAsync(open);
        (await store.SearchAsync(new SessionSearchQuery("pangolin"))).Should().HaveCount(2);
    }

    [Test]
    public async Task MigrateAsync_Schema4DatabaseWithMessages_DropsThePartsOrderIndexAndReadsPartsInPositionOrder()
    {
        // Part ids in the reverse of their positions: only the position column orders them.
        var ids = Enumerable.Range(0, 4).Select(static _ => AgentCoreIds.NewPartId()).Reverse().ToList();
        string sessionId = AgentCoreIds.NewSessionId();
        var message = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = Microsoft.Extensions.AI.ChatRole.Assistant, CreatedAt = T0, CompletedAt = T0,
            Parts =
            [
                new StepStartPart { Id = ids[0], StartedAt = T0 },
                new TextPart { Id = ids[1], Text = "first" },
                new ToolPart { Id = ids[2], CallId = "call_1", ToolName = "read", State = ToolState.Completed, Output = "out", StartedAt = T0, EndedAt = T0 },
                new TextPart { Id = ids[3], Text = "last" },
            ],
        };
        using (var writer = new SqliteSessionStore(DatabasePath))
        {
            await writer.SaveMessageAsync(message);
        }

        SqliteConnection.ClearAllPools();
        await ExecuteAsync("CREATE INDEX parts_in_order ON parts (session_id, message_id, position, id); PRAGMA user_version = 4;");

        using var store = new SqliteSessionStore(DatabasePath);
        await store.MigrateAsync();

        (await ScalarAsync("PRAGMA user_version")).Should().Be(5L);
        (await ScalarAsync("SELECT count(*) FROM sqlite_master WHERE name = 'parts_in_order'")).Should().Be(0L);
        var stored = (await store.GetMessagesAsync(sessionId)).Single();
        stored.Parts.Select(static p => p.Id).Should().Equal(ids);
        stored.Text.Should().Be("firstlast");
        var added = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "after the upgrade" };
        message.Parts.Add(added);
        await store.SavePartsAsync(message, [new(added)]);
        (await store.GetMessagesAsync(sessionId)).Single().Parts.Select(static p => p.Id).Should().Equal([.. ids, added.Id]);
    }

    [Test]
    public async Task MigrateAsync_Schema1DatabaseWithMessages_CopiesThemToSchema2AndDropsTheOldTables()
    {
        // A database as schema 1 left it: two sessions' messages as JSON, and one message row that no longer parses.
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        await ExecuteAsync(SqliteDatabase.Migrations[0] + "PRAGMA user_version = 1;");
        string first = AgentCoreIds.NewSessionId(), second = AgentCoreIds.NewSessionId();
        var conversations = new Dictionary<string, List<SessionMessage>>
        {
            [first] = Schema1Rows.Conversation(first),
            [second] = Schema1Rows.Conversation(second),
        };
        await using (var connection = await OpenAsync())
        {
            foreach (var message in conversations.Values.SelectMany(static m => m))
            {
                await InsertAsync(connection, "INSERT INTO messages (session_id, id, data) VALUES ($1, $2, $3)", message.SessionId, message.Id, Schema1Rows.MessageData(message));
                foreach (var (id, position, data, text) in Schema1Rows.PartRows(message))
                {
                    await InsertAsync(connection, "INSERT INTO parts (session_id, message_id, id, position, data, text) VALUES ($1, $2, $3, $4, $5, $6)",
                        message.SessionId, message.Id, id, position, data, text);
                }
            }

            string corrupt = AgentCoreIds.NewMessageId();
            await InsertAsync(connection, "INSERT INTO messages (session_id, id, data) VALUES ($1, $2, $3)", first, corrupt, "{\"id\": ");
            await InsertAsync(connection, "INSERT INTO parts (session_id, message_id, id, position, data, text) VALUES ($1, $2, $3, 0, '{\"type\":\"text\"}', x'41')",
                first, corrupt, AgentCoreIds.NewPartId());
        }

        using var store = new SqliteSessionStore(DatabasePath);
        await store.MigrateAsync();

        (await ScalarAsync("PRAGMA user_version")).Should().Be((long)SqliteSessionStore.SchemaVersion);
        (await ScalarAsync("SELECT count(*) FROM sqlite_master WHERE name IN ('messages_v1', 'parts_v1')")).Should().Be(0L);
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
        var owned = Enumerable.Range(0, 3).Select(i => new SessionInfo
        {
            Id = AgentCoreIds.NewSessionId(), Title = $"s{i}", CreatedAt = T0.AddSeconds(i), UpdatedAt = T0.AddSeconds(i),
            Metadata = new Dictionary<string, string> { ["owner"] = i == 1 ? "grace" : "ada", ["tenant"] = "acme" },
        }).ToList();
        var corrupt = owned[0] with { Id = AgentCoreIds.NewSessionId(), CreatedAt = T0.AddSeconds(9) };
        using (var writer = new SqliteSessionStore(DatabasePath))
        {
            foreach (var session in owned.Append(corrupt))
            {
                await writer.SaveSessionAsync(session);
            }
        }

        SqliteConnection.ClearAllPools();
        await ExecuteAsync($"""
            DROP TABLE session_metadata;
            DROP INDEX sessions_by_parent;
            DROP INDEX sessions_by_update;
            CREATE INDEX sessions_by_parent ON sessions (parent_id) WHERE parent_id IS NOT NULL;
            UPDATE sessions SET data = '{"{\"id\": "}' WHERE id = '{corrupt.Id}';
            {DropSchema4}
            PRAGMA user_version = 2;
            """);

        using var store = new SqliteSessionStore(DatabasePath);
        await store.MigrateAsync();

        (await ScalarAsync("PRAGMA user_version")).Should().Be((long)SqliteSessionStore.SchemaVersion);
        (await ScalarAsync("SELECT count(*) FROM session_metadata")).Should().Be(6L);
        var page = await store.ListSessionsAsync(new SessionQuery { Metadata = new Dictionary<string, string> { ["owner"] = "ada" } });
        page.Sessions.Select(static s => s.Id).Should().Equal(owned[2].Id, owned[0].Id);
        page.Sessions[0].Should().BeEquivalentTo(owned[2]);
    }

    [Test]
    public async Task ListSessionsAsync_QueryByOwner_ReadsTheMetadataIndexNotEverySession()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        await store.MigrateAsync();
        var (sql, _) = SqliteQueries.ListSql(new SessionQuery { Metadata = new Dictionary<string, string> { ["owner"] = "ada" } }, afterKey: true);
        var (parentSql, _) = SqliteQueries.ListSql(new SessionQuery { ParentId = AgentCoreIds.NewSessionId() }, afterKey: true);

        string plan = await PlanAsync(sql, "$k0", "$v0");
        string parentPlan = await PlanAsync(parentSql, "$parent");

        plan.Should().Contain("session_metadata_lookup").And.NotContain("TEMP B-TREE").And.NotContain("SCAN s");
        parentPlan.Should().Contain("sessions_by_parent").And.NotContain("TEMP B-TREE");
    }

    /// <summary>The query plan of <paramref name="sql"/> (its text parameters bound to "x", the others to 1).</summary>
    private async Task<string> PlanAsync(string sql, params string[] textParameters)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (string name in textParameters)
        {
            command.Parameters.AddWithValue(name, "x");
        }

        foreach (string name in new[] { "$limit", "$afterTicks" })
        {
            command.Parameters.AddWithValue(name, 1L);
        }

        command.Parameters.AddWithValue("$afterId", "ses_x");
        var plan = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            plan.Add(reader.GetString(3));
        }

        return string.Join("\n", plan);
    }

    [Test]
    public async Task AnyMethod_FileOfGarbageBytes_ThrowsAgentCoreExceptionNamingTheFileAndTheWayOut()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        var garbage = new byte[8192];
        new Random(42).NextBytes(garbage);
        await File.WriteAllBytesAsync(DatabasePath, garbage);
        using var store = new SqliteSessionStore(DatabasePath);

        foreach (var call in new Func<Task>[]
        {
            () => store.MigrateAsync().AsTask(),
            () => store.GetSessionAsync(AgentCoreIds.NewSessionId()).AsTask(),
            () => store.GetMessagesAsync(AgentCoreIds.NewSessionId()).AsTask(),
        })
        {
            var thrown = await call.Should().ThrowAsync<AgentCoreException>();
            thrown.Which.Message.Should().Contain(DatabasePath).And.Contain("not an SQLite database").And.Contain("Move the file aside")
                .And.Contain("restore a backup").And.Contain("UseSqlite");
            thrown.Which.InnerException.Should().BeOfType<SqliteException>();
        }

        (await File.ReadAllBytesAsync(DatabasePath)).Should().Equal(garbage, "the store never writes over a file it cannot read");
    }

    [Test]
    public async Task GetMessagesAsync_TruncatedDatabase_ThrowsAgentCoreExceptionNamingTheFile()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        using (var store = new SqliteSessionStore(DatabasePath))
        {
            for (int i = 0; i < 200; i++)
            {
                await store.SaveMessageAsync(new SessionMessage
                {
                    Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = Microsoft.Extensions.AI.ChatRole.User, CreatedAt = DateTimeOffset.UnixEpoch,
                    Parts = [new TextPart { Id = AgentCoreIds.NewPartId(), Text = new string('x', 2000) }],
                });
            }
        }

        SqliteConnection.ClearAllPools();
        File.Exists(DatabasePath + "-wal").Should().BeFalse("closing the last connection checkpoints the WAL into the file");
        await using (var file = new FileStream(DatabasePath, FileMode.Open))
        {
            file.SetLength(file.Length / 2);
        }

        using var reopened = new SqliteSessionStore(DatabasePath);
        var thrown = await FluentActions.Awaiting(() => reopened.GetMessagesAsync(sessionId).AsTask()).Should().ThrowAsync<AgentCoreException>();
        thrown.Which.Message.Should().Contain(DatabasePath).And.Contain("corrupt").And.Contain("restore a backup");
    }

    [Test]
    public async Task AnyMethod_EmptyFile_TreatedAsANewDatabase()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        await File.WriteAllBytesAsync(DatabasePath, []);
        using var store = new SqliteSessionStore(DatabasePath);
        var session = new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch };

        await store.SaveSessionAsync(session);

        (await store.GetSessionAsync(session.Id)).Should().BeEquivalentTo(session);
        new FileInfo(DatabasePath).Length.Should().BePositive();
    }

    [Test]
    public async Task GetMessagesAsync_PartsOfMessagesInterleaved_EachMessageGetsItsOwnInOrder()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        var messages = Schema1Rows.Conversation(sessionId);
        foreach (var message in messages)
        {
            await store.SaveMessageAsync(message);
        }

        // Parts added later to earlier messages, and a part row whose message row is gone.
        messages[0].Parts.Add(new ReasoningPart { Id = AgentCoreIds.NewPartId(), Text = "later" });
        await store.SavePartAsync(messages[0], messages[0].Parts[^1]);
        await ExecuteAsync($"DELETE FROM messages WHERE id = '{messages[1].Id}'");

        (await store.GetMessagesAsync(sessionId)).Select(Schema1Rows.Json).Should().Equal(new[] { messages[0], messages[2], messages[3] }.Select(Schema1Rows.Json));
    }

    [Test]
    public async Task SaveSessionAsync_Totals_StoredAsColumns()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        var session = NewSession() with { Tokens = new TokenUsage(11, 22, 3, 44, 5), Cost = 1.25m };

        await store.SaveSessionAsync(session);

        (await ScalarAsync("SELECT input_tokens || ',' || output_tokens || ',' || reasoning_tokens || ',' || cache_read_tokens || ',' || cache_write_tokens || ',' || cost FROM sessions"))
            .Should().Be("11,22,3,44,5,1.25");
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task UpdateSessionAsync_TotalsAndTimes_StoredAsColumns(bool createdAtChanged)
    {
        using var store = new SqliteSessionStore(DatabasePath);
        var session = NewSession();
        await store.SaveSessionAsync(session);
        var created = createdAtChanged ? session.CreatedAt.AddTicks(-7) : session.CreatedAt;

        var updated = await store.UpdateSessionAsync(session.Id, s => s with
        {
            CreatedAt = created, UpdatedAt = s.UpdatedAt.AddTicks(5), Tokens = new TokenUsage(11, 22, 3, 44, 5), Cost = 1.25m,
        });

        (await ScalarAsync("SELECT input_tokens || ',' || output_tokens || ',' || reasoning_tokens || ',' || cache_read_tokens || ',' || cache_write_tokens || ',' || cost FROM sessions"))
            .Should().Be("11,22,3,44,5,1.25");
        (await ScalarAsync("SELECT created_at || ',' || updated_at FROM sessions"))
            .Should().Be($"{created.UtcTicks},{session.UpdatedAt.UtcTicks + 5}");
        (await store.GetSessionAsync(session.Id)).Should().BeEquivalentTo(updated);
    }

    [Test]
    public async Task SavePartAsync_AppendedText_UpdatesOnlyThatPartRow()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "Hello" };
        var tool = new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "c", ToolName = "t" };
        var message = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = Microsoft.Extensions.AI.ChatRole.Assistant,
            CreatedAt = DateTimeOffset.UtcNow, Parts = [tool, text],
        };
        await store.SaveMessageAsync(message);
        await ExecuteAsync("UPDATE parts SET data = replace(data, '\"toolName\":\"t\"', '\"toolName\":\"untouched\"')");

        text.Text += ", world";
        await store.SavePartAsync(message, text, ", world");

        var read = (await store.GetMessagesAsync(sessionId)).Single();
        read.Parts.OfType<TextPart>().Single().Text.Should().Be("Hello, world");
        read.Parts.OfType<ToolPart>().Single().ToolName.Should().Be("untouched", "an append must not rewrite other parts");
    }

    [Test]
    public async Task SaveSessionAsync_DatabaseLockedPastBusyTimeout_ThrowsBusy()
    {
        using var store = new SqliteSessionStore(DatabasePath, new SqliteStoreOptions { BusyTimeout = TimeSpan.FromMilliseconds(100) });
        await store.MigrateAsync();
        await using var blocker = await OpenAsync();
        using var transaction = blocker.BeginTransaction(deferred: false);

        var thrown = await FluentActions.Awaiting(() => store.SaveSessionAsync(NewSession()).AsTask())
            .Should().ThrowAsync<SqliteException>();

        thrown.Which.SqliteErrorCode.Should().Be(5);
    }

    [Test]
    public async Task SaveSessionAsync_DatabaseLockedThenReleased_RetriesAndSaves()
    {
        var busy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var store = new SqliteSessionStore(DatabasePath, new SqliteStoreOptions(), new SignalingLogger<SqliteSessionStore>("busy", busy));
        await store.MigrateAsync();
        var blocker = await OpenAsync();
        var transaction = blocker.BeginTransaction(deferred: false);
        var session = NewSession();

        var save = store.SaveSessionAsync(session).AsTask();
        await busy.Task.WaitAsync(TimeSpan.FromSeconds(60)); // the store met the lock and is retrying
        transaction.Commit();
        await blocker.DisposeAsync();
        await save;

        (await store.GetSessionAsync(session.Id)).Should().BeEquivalentTo(session);
    }

    [Test]
    public async Task UseSqlite_Registered_ResolvesSqliteStoreAndLock()
    {
        var services = new ServiceCollection();
        services.AddAgentCore(o => o.DataDirectory = _directory).UseSqlite(DatabasePath);
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<ISessionStore>();
        store.Should().BeOfType<SqliteSessionStore>().Which.DatabasePath.Should().Be(DatabasePath);
        provider.GetRequiredService<ISessionLockProvider>().Should().BeOfType<FileSessionLockProvider>()
            .Which.LockDirectory.Should().Be(DatabasePath + ".locks");
        var session = NewSession();
        await store.SaveSessionAsync(session);
        (await store.GetSessionAsync(session.Id)).Should().BeEquivalentTo(session);
    }

    [Test]
    public void UseSqlite_SessionLockOff_KeepsDefaultLock()
    {
        var services = new ServiceCollection();
        services.AddAgentCore(o => o.DataDirectory = _directory).UseSqlite(DatabasePath, o => o.UseSessionLock = false);
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<ISessionLockProvider>().Should().NotBeOfType<FileSessionLockProvider>("the default lock on a store other than the file store is in-process");
    }

    private static SessionInfo NewSession()
    {
        var now = DateTimeOffset.UtcNow;
        return new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = now, UpdatedAt = now };
    }

    private async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        return connection;
    }

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    private static async Task InsertAsync(SqliteConnection connection, string sql, params object?[] values)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        for (int i = 0; i < values.Length; i++)
        {
            command.Parameters.AddWithValue("$" + (i + 1), values[i] ?? DBNull.Value);
        }

        await command.ExecuteNonQueryAsync();
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Completes <c>signal</c> when a message containing <c>text</c> is logged.</summary>
    private sealed class SignalingLogger<T>(string text, TaskCompletionSource signal) : ILogger<T>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (formatter(state, exception).Contains(text, StringComparison.Ordinal))
            {
                signal.TrySetResult();
            }
        }
    }
}
