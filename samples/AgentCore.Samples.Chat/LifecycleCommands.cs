namespace AgentCore.Samples.Chat;

/// <summary>The session lifecycle commands: /fork, /revert, /unrevert, /export, /import.</summary>
internal sealed partial class ChatApp
{
    private const string LifecycleHelp = """
        /fork [n]            copy the current session (up to its message n) into a new one, and continue there
        /revert <n>          keep messages 1..n of the current session; /unrevert undoes it until your next message
        /unrevert            bring back what /revert took out
        /export <file>       write the current session to a JSON file
        /import <file>       read a session from a file written by /export, and continue it
        """;

    private async Task ForkAsync(string argument)
    {
        if (await CurrentMessagesAsync() is not { } messages)
        {
            return;
        }

        string? atMessageId = null;
        if (argument.Length > 0)
        {
            if (MessageAt(messages, argument) is not { } message)
            {
                return;
            }

            atMessageId = message.Id;
        }

        await RunLifecycleAsync(async () =>
        {
            var fork = await _sessions.ForkAsync(_current!.Id, atMessageId);
            var copied = await _sessions.GetMessagesAsync(fork.Id);
            _out.WriteLine($"Forked {_current.Id} into {fork.Id} \"{fork.Title}\": {Text.Plural(copied.Count, "message")}, {Text.Money(fork.Cost)}. Continuing in the fork.");
            _current = fork;
        });
    }

    private async Task RevertAsync(string argument)
    {
        if (argument.Length == 0)
        {
            _out.WriteLine("Usage: /revert <n>: keep the first n messages of the current session.");
            return;
        }

        if (await CurrentMessagesAsync() is not { } messages || MessageAt(messages, argument) is not { } message)
        {
            return;
        }

        await RunLifecycleAsync(async () =>
        {
            _current = await _sessions.RevertAsync(_current!.Id, message.Id);
            int left = (await _sessions.GetMessagesAsync(_current.Id)).Count;
            _out.WriteLine($"Reverted: {Text.Plural(messages.Count - left, "message")} taken out, {Text.Plural(left, "message")} left, {Text.Money(_current.Cost)} so far. /unrevert brings them back until your next message.");
        });
    }

    private async Task UnrevertAsync()
    {
        if (_current is null)
        {
            _out.WriteLine("No current session: send a message first, or /resume one.");
            return;
        }

        await RunLifecycleAsync(async () =>
        {
            bool wasReverted = (await _sessions.GetAsync(_current.Id)).RevertedAfter is not null;
            _current = await _sessions.UnrevertAsync(_current.Id);
            int count = (await _sessions.GetMessagesAsync(_current.Id)).Count;
            _out.WriteLine(wasReverted
                ? $"Unreverted: {Text.Plural(count, "message")}, {Text.Money(_current.Cost)} so far."
                : "Nothing to unrevert.");
        });
    }

    private async Task ExportAsync(string path)
    {
        if (path.Length == 0)
        {
            _out.WriteLine("Usage: /export <file>");
            return;
        }

        if (_current is null)
        {
            _out.WriteLine("No current session: send a message first, or /resume one.");
            return;
        }

        await RunLifecycleAsync(async () =>
        {
            string full = Path.GetFullPath(path);
            await using (var file = File.Create(full))
            {
                await _sessions.ExportAsync(_current.Id, file);
            }

            _out.WriteLine($"Exported {_current.Id} to {full} ({new FileInfo(full).Length:N0} bytes).");
        });
    }

    private async Task ImportAsync(string path)
    {
        if (path.Length == 0)
        {
            _out.WriteLine("Usage: /import <file>");
            return;
        }

        await RunLifecycleAsync(async () =>
        {
            SessionInfo imported;
            await using (var file = File.OpenRead(Path.GetFullPath(path)))
            {
                imported = await _sessions.ImportAsync(file);
            }

            var messages = await _sessions.GetMessagesAsync(imported.Id);
            _current = imported;
            _out.WriteLine($"Imported {imported.Id} \"{imported.Title}\": {Text.Plural(messages.Count, "message")}, {Text.Money(imported.Cost)}. Continuing it.");
        });
    }

    private async Task<IReadOnlyList<SessionMessage>?> CurrentMessagesAsync()
    {
        if (_current is null)
        {
            _out.WriteLine("No current session: send a message first, or /resume one.");
            return null;
        }

        return await _sessions.GetMessagesAsync(_current.Id);
    }

    /// <summary>The message numbered <paramref name="number"/> (from 1) in the conversation, or null after saying why.</summary>
    private SessionMessage? MessageAt(IReadOnlyList<SessionMessage> messages, string number)
    {
        if (!int.TryParse(number, out int n) || n < 1 || n > messages.Count)
        {
            _out.WriteLine($"'{number}' is not a message number: the current session has {Text.Plural(messages.Count, "message")}, numbered from 1.");
            return null;
        }

        return messages[n - 1];
    }

    /// <summary>Runs a lifecycle call, printing the errors a person can act on instead of ending the chat.</summary>
    private async Task RunLifecycleAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex) when (ex is AgentCoreException or ArgumentException or InvalidDataException or IOException
                                       or UnauthorizedAccessException or NotSupportedException)
        {
            _out.WriteLine(ex.Message);
        }
    }
}
