using AgentCore.TestInfrastructure;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary>
/// <see cref="PostgreSqlSessionStore.GetMessagesStampAsync"/>: every write or delete of a session's messages, by any store
/// instance on the database, gives a stamp never seen before; nothing else changes it.
/// </summary>
public sealed class PostgresMessagesStampTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 22, 0, 0, TimeSpan.Zero);
    private string _connectionString = null!;
    private PostgreSqlSessionStore _reader = null!;
    private PostgreSqlSessionStore _writer = null!;

    [SetUp]
    public void CreateStores()
    {
        _connectionString = PostgresServer.CreateDatabase();
        _reader = new PostgreSqlSessionStore(_connectionString);
        _writer = new PostgreSqlSessionStore(_connectionString);
    }

    [TearDown]
    public async Task DisposeStores()
    {
        await _reader.DisposeAsync();
        await _writer.DisposeAsync();
    }

    [Test]
    public async Task GetMessagesStampAsync_EachWriteByAnotherInstance_ChangesToANewValue()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var seen = new List<string?> { await _reader.GetMessagesStampAsync(sessionId) };
        var message = Assistant(sessionId);
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "one" };

        await _writer.SaveMessageAsync(message);
        seen.Add(await _reader.GetMessagesStampAsync(sessionId));
        message.Parts.Add(text);
        await _writer.SavePartAsync(message, text);
        seen.Add(await _reader.GetMessagesStampAsync(sessionId));
        text.Text += " two";
        await _writer.SavePartAsync(message, text, " two");
        seen.Add(await _reader.GetMessagesStampAsync(sessionId));
        var tool = new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "c1", ToolName = "read", State = ToolState.Running };
        message.Parts.Add(tool);
        text.Text += " three";
        await _writer.SavePartsAsync(message, [new(text, " three"), new(tool)]);
        seen.Add(await _reader.GetMessagesStampAsync(sessionId));
        message.CompletedAt = T0.AddSeconds(1);
        await _writer.SavePartsAsync(message, []);
        seen.Add(await _reader.GetMessagesStampAsync(sessionId));

        seen.Should().OnlyHaveUniqueItems().And.NotContainNulls();
        (await _reader.GetMessagesStampAsync(sessionId)).Should().Be(seen[^1], "reading does not change it");
    }

    [Test]
    public async Task GetMessagesStampAsync_SessionFieldsAndOtherSessionsWritten_Unchanged()
    {
        var session = new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = T0, UpdatedAt = T0 };
        await _writer.SaveSessionAsync(session);
        await _writer.SaveMessageAsync(Assistant(session.Id));
        string? stamp = await _reader.GetMessagesStampAsync(session.Id);

        await _writer.SaveSessionAsync(session with { Title = "renamed" });
        await _writer.UpdateSessionAsync(session.Id, static s => s with { UpdatedAt = s.UpdatedAt.AddSeconds(1) });
        await _writer.SaveMessageAsync(Assistant(AgentCoreIds.NewSessionId()));

        (await _reader.GetMessagesStampAsync(session.Id)).Should().Be(stamp);
    }

    [Test]
    public async Task GetMessagesStampAsync_MessagesDeleted_Changes()
    {
        string sessionId = AgentCoreIds.NewSessionId();
        var kept = Assistant(sessionId);
        var reverted = Assistant(sessionId);
        await _writer.SaveMessageAsync(kept);
        await _writer.SaveMessageAsync(reverted);
        string? before = await _reader.GetMessagesStampAsync(sessionId);

        (await _writer.DeleteMessagesAsync(sessionId, [reverted.Id])).Should().Be(1);

        (await _reader.GetMessagesStampAsync(sessionId)).Should().NotBe(before);
    }

    [Test]
    public async Task GetMessagesStampAsync_SessionDeletedThenWrittenAgain_NeverRepeatsAStamp()
    {
        var session = new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = T0, UpdatedAt = T0 };
        string? empty = await _reader.GetMessagesStampAsync(session.Id);
        await _writer.SaveSessionAsync(session);
        await _writer.SaveMessageAsync(Assistant(session.Id));
        string? written = await _reader.GetMessagesStampAsync(session.Id);

        await _writer.DeleteSessionAsync(session.Id);
        string? deleted = await _reader.GetMessagesStampAsync(session.Id);
        await _writer.SaveSessionAsync(session);
        await _writer.SaveMessageAsync(Assistant(session.Id));
        string? again = await _reader.GetMessagesStampAsync(session.Id);

        written.Should().NotBe(empty);
        deleted.Should().Be(empty, "a deleted session has no messages, as before any was written").And.NotBe(written);
        again.Should().NotBe(written).And.NotBe(empty);
    }

    [Test]
    public async Task ChatAsync_OtherInstanceRanATurnInBetween_NextTurnsPromptHasItsMessages()
    {
        await using var a = new LifecycleHarness(new PostgreSqlSessionStore(_connectionString));
        await using var b = new LifecycleHarness(new PostgreSqlSessionStore(_connectionString));
        var session = await a.Sessions.CreateAsync();
        await a.TurnAsync(session.Id, "one", "first answer", 100, 10);
        await a.TurnAsync(session.Id, "two", "second answer", 100, 10); // read from the conversation the first turn kept

        await b.TurnAsync(session.Id, "three", "third answer", 100, 10);
        await a.TurnAsync(session.Id, "four", "fourth answer", 100, 10);

        a.Client.Calls[^1].Messages.Select(static m => m.Text).Should()
            .ContainInOrder("one", "first answer", "two", "second answer", "three", "third answer", "four");
        (await a.Sessions.GetMessagesAsync(session.Id)).Should().HaveCount(8);
    }

    [Test]
    public async Task GetMessagesStampAsync_InvalidId_ThrowsArgumentException()
    {
        await FluentActions.Awaiting(() => _reader.GetMessagesStampAsync("../etc").AsTask())
            .Should().ThrowAsync<ArgumentException>().WithParameterName("sessionId");
    }

    private static SessionMessage Assistant(string sessionId) => new()
    {
        Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.Assistant, CreatedAt = T0,
    };
}
