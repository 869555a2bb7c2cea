using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

/// <summary>
/// The SQL stores (SQLite and PostgreSQL) keep every field of a message in a column of its own, and text and reasoning
/// parts as an id and their text without JSON: these tests fail when a field appears that has no column yet.
/// </summary>
public sealed class StoredColumnsTests
{
    private const string Because =
        "every field needs a column in both SQL stores (a schema migration in SqliteDatabase and PostgreSqlDatabase, read and written " +
        "by both stores), a line in MessageCopies.WithParts and a value in the conformance suite's EveryPartMessage";

    [Test]
    public void SessionMessage_SettableProperties_AreTheStoredColumns()
    {
        Settable(typeof(SessionMessage)).Should().BeEquivalentTo(
            ["Id", "SessionId", "Role", "Parts", "CreatedAt", "CompletedAt", "ProviderId", "ModelId", "Tokens", "Cost", "IsSummary",
             "SummarizedThrough", "Error", "FinishReason"],
            Because);
        Settable(typeof(TokenUsage)).Should().BeEquivalentTo(["Input", "Output", "Reasoning", "CacheRead", "CacheWrite"], Because);
    }

    [TestCase(typeof(TextPart))]
    [TestCase(typeof(ReasoningPart))]
    public void TextualParts_SettableProperties_AreIdAndText(Type partType)
    {
        Settable(partType).Should().BeEquivalentTo(["Id", "Text"], "text and reasoning parts are stored without JSON: " + Because);
    }

    private static IEnumerable<string> Settable(Type type) =>
        type.GetProperties().Where(static p => p.SetMethod is { IsPublic: true }).Select(static p => p.Name);
}
