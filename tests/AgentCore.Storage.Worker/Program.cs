// Drives one side of a two-process storage test. Usage:
//   lock  <sqlite|postgres> <database path | connection string> <session id>
//     prints "locked" (then "aborted" if an abort request reaches it; "release" on stdin releases: "released")
//     or "busy" (exit code 3).
//   write <sqlite|postgres> <database path | connection string> <session id> <count> <writer name>
//     prints "ready", waits for "go" on stdin, writes <count> messages, prints "done <count>".
//   chat  <sqlite|postgres> <database path | connection string> <session id> <data directory>
//     builds AgentCore on the store (UseSqlite / UsePostgreSql, with their session lock) and a scripted model, prints
//     "ready", then runs the commands it reads (see ChatAsync below) and reports on stdout.
// Every line is flushed at once; the test reads them instead of sleeping.
using AgentCore;
using AgentCore.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

if (args.Length < 4)
{
    Console.Error.WriteLine("usage: lock|write|chat sqlite|postgres <target> <session id> [count writer | data directory]");
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
    case "chat":
        return await ChatAsync(args[4]);
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

// Commands, one a line:
//   park <text>  starts a turn in the background: the model streams <text>, prints "parked" and waits for "release"
//                (or the turn's abort), then streams " and the rest".
//   release      lets the parked model go on.
//   say <text>   runs a turn whose model answers <text> at once, and waits for it.
//   run <n>      runs n turns like "say reply <i>" one after another, then prints "done <n>".
//   abort        calls ISessionService.Abort(session id) and prints "abort True" or "abort False".
//   quit         waits for a turn still running, then exits 0 (so does the end of stdin).
// A turn prints "completed <exit reason> <error kind or none> <text of the reply>" when its event stream has ended (the
// session's lock is free again by then), "busy" when the session is
// busy (SessionBusyException), or "failed <exception type>: <message>".
async Task<int> ChatAsync(string dataDirectory)
{
    ScriptedResponse next = new();
    var client = new ScriptedChatClient(_ => next);
    var model = new ModelInfo("scripted", "model", contextWindow: 100_000, maxOutputTokens: 4_000, new ModelPricing(1m, 2m, 0m, 0m));
    var services = new ServiceCollection();
    var builder = services.AddAgentCore(o =>
    {
        o.DataDirectory = dataDirectory;
        o.DefaultModel = model.Reference;
        o.GenerateTitles = false;
        o.IncludeContextFiles = false;
    });
    builder.AddChatClient(model.ProviderId, client, [model]);
    _ = backend == "sqlite"
        ? builder.UseSqlite(target, o => o.AbortPollInterval = TimeSpan.FromMilliseconds(20))
        : builder.UsePostgreSql(target);
    await using var provider = services.BuildServiceProvider();
    var sessions = provider.GetRequiredService<ISessionService>();

    TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    Task running = Task.CompletedTask;
    Console.WriteLine("ready");
    while (await Console.In.ReadLineAsync() is { } line)
    {
        string[] words = line.Split(' ', 2);
        string argument = words.Length > 1 ? words[1] : "";
        switch (words[0])
        {
            case "park":
                release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                next = new ScriptedResponse().Text(argument).Then(static () => Console.WriteLine("parked")).WaitFor(release.Task)
                    .Text(" and the rest").Usage(10, 5).Finish(ChatFinishReason.Stop);
                running = TurnAsync();
                break;
            case "release":
                release.TrySetResult();
                break;
            case "say":
                next = new ScriptedResponse().Text(argument).Usage(10, 5).Finish(ChatFinishReason.Stop);
                await TurnAsync();
                break;
            case "run":
                int count = int.Parse(argument, System.Globalization.CultureInfo.InvariantCulture);
                for (int i = 0; i < count; i++)
                {
                    next = new ScriptedResponse().Text($"reply {i}").Usage(10, 5).Finish(ChatFinishReason.Stop);
                    await TurnAsync();
                }

                Console.WriteLine($"done {count}");
                break;
            case "abort":
                Console.WriteLine($"abort {sessions.Abort(sessionId)}");
                break;
            case "quit":
                await running;
                return 0;
            default:
                Console.WriteLine($"unknown command {words[0]}");
                break;
        }
    }

    await running;
    return 0;

    async Task TurnAsync()
    {
        try
        {
            TurnCompleted? completed = null;
            await foreach (var sessionEvent in sessions.ChatStreamingAsync(new ChatRequest { SessionId = sessionId, Text = "go" }))
            {
                completed = sessionEvent as TurnCompleted ?? completed;
            }

            // Reported once the stream has ended: TurnCompleted is its last event, but the session's lock is released as the
            // stream ends, after it.
            Console.WriteLine($"completed {completed!.ExitReason} {completed.Message.Error?.Kind.ToString() ?? "none"} {completed.Message.Text}");
        }
        catch (SessionBusyException)
        {
            Console.WriteLine("busy");
        }
        catch (Exception ex)
        {
            Console.WriteLine($"failed {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}");
        }
    }
}
