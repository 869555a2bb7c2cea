using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

/// <summary>The SQLite store's <see cref="SqliteSessionStore.SavePartsAsync"/>: a batch of part changes in one transaction.</summary>
public sealed class SqliteSavePartsTests : SqliteFileTests
{
    private static readonly DateTimeOffset T0 = new(2026, 5, 6, 7, 8, 9, TimeSpan.Zero);

    [Test]
    public async Task SavePartsAsync_LastChangeFails_StoresNoneOfTheBatch()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "before" };
        var message = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.Assistant, CreatedAt = T0, Parts = [text],
        };
        await store.SaveMessageAsync(message);
        var doomed = new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "call_1", ToolName = "read", State = ToolState.Running, StartedAt = T0 };
        await ExecuteAsync($"CREATE TRIGGER refuse AFTER INSERT ON parts WHEN new.id = '{doomed.Id}' BEGIN SELECT RAISE(ABORT, 'refused'); END;");

        text.Text += " and after";
        var step = new StepStartPart { Id = AgentCoreIds.NewPartId(), StartedAt = T0 };
        message.Parts.AddRange([step, doomed]);
        message.Tokens = new TokenUsage(10, 5, 0, 0, 0);
        var save = () => store.SavePartsAsync(message, [new(text, " and after"), new(step), new(doomed)]).AsTask();

        (await save.Should().ThrowAsync<SqliteException>()).Which.Message.Should().Contain("refused");
        var stored = (await store.GetMessagesAsync(sessionId)).Single();
        stored.Parts.Should().ContainSingle().Which.Should().BeOfType<TextPart>().Which.Text.Should().Be("before");
        stored.Tokens.Should().Be(default(TokenUsage));

        await ExecuteAsync("DROP TRIGGER refuse");
        await save();
        stored = (await store.GetMessagesAsync(sessionId)).Single();
        stored.Parts.Select(static p => p.Id).Should().Equal(text.Id, step.Id, doomed.Id);
        stored.Text.Should().Be("before and after");
        stored.Tokens.Should().Be(message.Tokens);
    }

    [Test]
    public async Task SavePartsAsync_SameFieldsAfterARolledBackSave_WritesTheMessage()
    {
        // The store remembers the message fields it wrote (to skip them when unchanged); a rolled-back save must not count.
        using var store = new SqliteSessionStore(DatabasePath);
        await store.MigrateAsync();
        var doomed = new StepStartPart { Id = AgentCoreIds.NewPartId(), StartedAt = T0 };
        await ExecuteAsync($"CREATE TRIGGER refuse AFTER INSERT ON parts WHEN new.id = '{doomed.Id}' BEGIN SELECT RAISE(ABORT, 'refused'); END;");
        string sessionId = AgentCoreIds.NewSessionId();
        var message = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.Assistant, CreatedAt = T0, Parts = [doomed],
            Tokens = new TokenUsage(10, 5, 0, 0, 0),
        };
        await FluentActions.Awaiting(() => store.SavePartsAsync(message, [new(doomed)]).AsTask()).Should().ThrowAsync<SqliteException>();

        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "kept" };
        message.Parts = [text];
        await store.SavePartsAsync(message, [new(text)]);

        var stored = (await store.GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        stored.Tokens.Should().Be(message.Tokens);
        stored.Text.Should().Be("kept");
    }

    [Test]
    public async Task SavePartsAsync_FieldsChangedByAnotherStoreSince_WritesThemAgain()
    {
        using var first = new SqliteSessionStore(DatabasePath);
        using var second = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        string messageId = AgentCoreIds.NewMessageId();
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "a" };
        SessionMessage Message(long input) => new()
        {
            Id = messageId, SessionId = sessionId, Role = ChatRole.Assistant, CreatedAt = T0, Parts = [text], Tokens = new TokenUsage(input, 1, 0, 0, 0),
        };
        var mine = Message(10);
        await first.SaveMessageAsync(mine);
        await second.SaveMessageAsync(Message(99));

        await first.SavePartsAsync(mine, []);

        (await first.GetMessagesAsync(sessionId)).Single().Tokens.Input.Should().Be(10);
    }

    [Test]
    public async Task SavePartsAsync_SameFieldsAfterTheMessageWasDeleted_StoresTheMessageAgain()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "a" };
        var message = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.Assistant, CreatedAt = T0, Parts = [text],
            Tokens = new TokenUsage(3, 4, 0, 0, 0),
        };
        await store.SaveMessageAsync(message);
        (await store.DeleteMessagesAsync(sessionId, [message.Id])).Should().Be(1);

        await store.SavePartsAsync(message, [new(text)]);

        var stored = (await store.GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        stored.Id.Should().Be(message.Id);
        stored.Tokens.Should().Be(message.Tokens);
        stored.Text.Should().Be("a");
    }

    [Test]
    public async Task SavePartsAsync_SameFieldsAfterTheSessionWasDeleted_StoresTheMessageAgain()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        await store.SaveSessionAsync(new SessionInfo { Id = sessionId, Title = "t", CreatedAt = T0, UpdatedAt = T0 });
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "a" };
        var message = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.Assistant, CreatedAt = T0, Parts = [text],
            Tokens = new TokenUsage(3, 4, 0, 0, 0),
        };
        await store.SaveMessageAsync(message);
        (await store.DeleteSessionAsync(sessionId)).Should().BeTrue();

        // An import of the same session again (ids kept): the same message, the same fields.
        await store.SavePartsAsync(message, [new(text)]);

        var stored = (await store.GetMessagesAsync(sessionId)).Should().ContainSingle().Subject;
        stored.Tokens.Should().Be(message.Tokens);
        stored.Text.Should().Be("a");
    }

    [Test]
    public async Task SavePartsAsync_StoredPartSavedAgainThenANewOne_NewOneGoesLast()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        var parts = Enumerable.Range(0, 3).Select(static i => new TextPart { Id = AgentCoreIds.NewPartId(), Text = $"t{i}" }).ToList();
        var message = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.Assistant, CreatedAt = T0, Parts = [.. parts],
        };
        await store.SaveMessageAsync(message);
        parts[0].Text = "first again";
        await store.SavePartsAsync(message, [new(parts[0])]);

        var added = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "t3" };
        message.Parts.Add(added);
        await store.SavePartsAsync(message, [new(added)]);
        using var reopened = new SqliteSessionStore(DatabasePath);
        var last = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "t4" };
        message.Parts.Add(last);
        await reopened.SavePartsAsync(message, [new(last)]);

        (await store.GetMessagesAsync(sessionId)).Single().Parts.Select(static p => ((TextPart)p).Text)
            .Should().Equal("first again", "t1", "t2", "t3", "t4");
    }

    [Test]
    public async Task SavePartsAsync_AppendToAPartNotStored_StoresItWhole()
    {
        using var store = new SqliteSessionStore(DatabasePath);
        string sessionId = AgentCoreIds.NewSessionId();
        var message = new SessionMessage
        {
            Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.Assistant, CreatedAt = T0, Parts = [],
        };
        var reasoning = new ReasoningPart { Id = AgentCoreIds.NewPartId(), Text = "all of it" };
        message.Parts.Add(reasoning);

        await store.SavePartsAsync(message, [new(reasoning, " of it")]);

        (await store.GetMessagesAsync(sessionId)).Single().Parts.Should().ContainSingle()
            .Which.Should().BeOfType<ReasoningPart>().Which.Text.Should().Be("all of it");
    }
}
