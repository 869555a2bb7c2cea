// Drives one side of a two-process storage test. Usage:
//   lock  <sqlite|postgres> <database path | connection string> <session id>
//     prints "locked" (then "aborted" if an abort request reaches it; "release" on stdin releases: "released")
//     or "busy" (exit code 3).
//   write <sqlite|postgres> <database path | connection string> <session id> <count> <writer name>
//     prints "ready", waits for "go" on stdin, writes <count> messages, prints "done <count>".
// Every line is flushed at once; the test reads them instead of sleeping.
using AgentCore;
using Microsoft.Extensions.AI;

if (args.Length < 4)
{
    Console.Error.WriteLine("usage: lock|write sqlite|postgres <target> <session id> [count writer]");
    return 2;
}

string command = args[0], backend = args[1], target = args[2], sessionId = args[3];
Console.Out.Flush();
switch (command)
{
    case "lock":
        return await LockAsync();
    case "write":
        return await WriteAsync(int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture), args[5]);
    default:
        Console.Error.WriteLine($"unknown command {command}");
        return 2;
}

async Task<int> LockAsync()
{
    ISessionLockProvider provider = backend == "sqlite"
        ? new SqliteSessionLockProvider(target, new SqliteStoreOptions { AbortPollInterval = TimeSpan.FromMilliseconds(20) })
        : new PostgresSessionLockProvider(target);
    await using var disposeProvider = (IAsyncDisposable)provider;
    var lease = await provider.TryAcquireAsync(sessionId);
    if (lease is null)
    {
        Console.WriteLine("busy");
        return 3;
    }

    using var registration = lease.AbortRequested.Register(static () => Console.WriteLine("aborted"));
    Console.WriteLine("locked");
    while (await Console.In.ReadLineAsync() is { } line)
    {
        if (line == "release")
        {
            break;
        }
    }

    registration.Dispose();
    await lease.DisposeAsync();
    Console.WriteLine("released");
    return 0;
}

async Task<int> WriteAsync(int count, string writer)
{
    ISessionStore store = backend == "sqlite" ? new SqliteSessionStore(target) : new PostgresSessionStore(target);
    try
    {
        Console.WriteLine("ready");
        if (await Console.In.ReadLineAsync() != "go")
        {
            return 2;
        }

        var now = DateTimeOffset.UtcNow;
        await store.SaveSessionAsync(new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = writer, CreatedAt = now, UpdatedAt = now });
        for (int i = 0; i < count; i++)
        {
            var message = new SessionMessage
            {
                Id = AgentCoreIds.NewMessageId(), SessionId = sessionId, Role = ChatRole.Assistant, CreatedAt = DateTimeOffset.UtcNow,
            };
            await store.SaveMessageAsync(message);
            var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = $"{writer} {i}" };
            message.Parts.Add(text);
            await store.SavePartAsync(message, text);
            text.Text += " done";
            message.CompletedAt = DateTimeOffset.UtcNow;
            await store.SavePartAsync(message, text, " done");
        }

        Console.WriteLine($"done {count}");
        return 0;
    }
    finally
    {
        switch (store)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }
}
