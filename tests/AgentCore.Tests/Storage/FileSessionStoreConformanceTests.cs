using System.Text;
using AgentCore.Testing;
using NUnit.Framework;

namespace AgentCore.Tests.Storage;

/// <summary>Runs the store conformance suite against <see cref="FileSessionStore"/> in a temporary folder.</summary>
[TestFixture]
public sealed class FileSessionStoreConformanceTests : SessionStoreConformanceTests
{
    private string _directory = null!;

    protected override ISessionStore CreateStore()
    {
        _directory = Path.Combine(Path.GetTempPath(), "agentcore-conformance-" + Guid.NewGuid().ToString("N"));
        return new FileSessionStore(_directory);
    }

    protected override ISessionStore? CreateStoreOnSameData() => new FileSessionStore(_directory);

    protected override async ValueTask<bool> CorruptSessionAsync(ISessionStore store, string sessionId)
    {
        await File.WriteAllTextAsync(Path.Combine(_directory, "sessions", sessionId + ".json"), "{\"id\": \"" + sessionId + "\", \"title\": ");
        return true;
    }

    protected override async ValueTask<bool> CorruptMessageAsync(ISessionStore store, string sessionId, string messageId)
    {
        string journal = Path.Combine(_directory, "messages", sessionId + ".jsonl");
        var lines = await File.ReadAllLinesAsync(journal);
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Contains(messageId, StringComparison.Ordinal))
            {
                lines[i] = lines[i][..(lines[i].Length / 2)] + "\u0001}";
            }
        }

        await File.WriteAllTextAsync(journal, string.Join("\n", lines) + "\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        return true;
    }

    protected override async ValueTask<bool> DamageSessionAsync(ISessionStore store, SessionInfo session, SessionRecordDamage damage)
    {
        await File.WriteAllTextAsync(Path.Combine(_directory, "sessions", session.Id + ".json"), DamagedSessionJson(session, damage));
        return true;
    }

    protected override async ValueTask<bool> DamageMessageAsync(ISessionStore store, SessionMessage message, MessagePart part, MessageRecordDamage damage)
    {
        // The message was saved whole: its journal line is {"k":"m","m":<message>}.
        string journal = Path.Combine(_directory, "messages", message.SessionId + ".jsonl");
        var lines = await File.ReadAllLinesAsync(journal);
        int index = Array.FindIndex(lines, line => line.Contains(message.Id, StringComparison.Ordinal));
        lines[index] = "{\"k\":\"m\",\"m\":" + DamagedMessageJson(message, part.Id, damage) + "}";
        await File.WriteAllTextAsync(journal, string.Join("\n", lines) + "\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        return true;
    }

    protected override ValueTask<bool> MakeMessagesUnreadableAsync(ISessionStore store, string sessionId)
    {
        // A folder where the journal should be: reading it fails, while session files stay readable.
        string journal = Path.Combine(_directory, "messages", sessionId + ".jsonl");
        File.Delete(journal);
        Directory.CreateDirectory(journal);
        return ValueTask.FromResult(true);
    }

    protected override ValueTask CleanUpAsync()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }

        return ValueTask.CompletedTask;
    }
}
