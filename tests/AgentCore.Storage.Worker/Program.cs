// Drives one side of a two-process storage test. The backend is file (the target is the data directory), sqlite (the
// database file) or postgres (the connection string). Usage:
//   lock  <file|sqlite|postgres> <data directory | database path | connection string> <session id>
//     prints "locked" (then "aborted" if an abort request reaches it; "release" on stdin releases: "released")
//     or "busy" (exit code 3).
//   write <file|sqlite|postgres> <target> <session id> <count> <writer name>
//     prints "ready", waits for "go" on stdin, writes <count> messages, prints "done <count>".
//   chat  <file|sqlite|postgres> <target> <session id> <data directory> [pausing]
//     builds AgentCore on the store (the default file store and lock, or UseSqlite / UsePostgreSql with their session
//     lock) and a scripted model, prints "ready", then runs the commands it reads (see ChatAsync below) and reports on
//     stdout. With "pausing", the store and the history are wrapped so that "crash" can stop a turn between their writes.
//   approval <file|sqlite|postgres> <target> <session id> <data directory>
//     AgentCore on the store, as for chat, with a tool that needs approval: asks for it, or answers what waits (see ApprovalCommand.cs).
//   messages file <data directory> <session id> <count> <label>
//   history  file <data directory> <session id> <count> <label>
//     prints "ready", waits for "go" on stdin, then makes the writes of ConcurrentWrites.cs (messages with appends to the
//     file store, or start entries to the JSONL history) while the test process makes the same ones. Exits 0, or 3 when
//     the store or the history logged a warning (written to stderr).
// Every line is flushed at once; the test reads them instead of sleeping.
using AgentCore;
using AgentCore.Storage.Worker;
using AgentCore.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

if (args.Length < 4)
{
    Console.Error.WriteLine("usage: lock|write|chat|approval|messages|history file|sqlite|postgres <target> <session id> [count writer | data directory [pausing]]");
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
        return await ChatAsync(args[4], args.Length > 5 && args[5] == "pausing");
    case "approval":
        return await ApprovalCommand.RunAsync(backend, target, sessionId, args[4]);
    case "messages" or "history" when backend == "file":
        return await ConcurrentWritesAsync(command == "messages", int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture), args[5]);
    default:
        Console.Error.WriteLine($"unknown command {command}");
        return 2;
}

async Task<int> ConcurrentWritesAsync(bool messages, int count, string label)
{
    var logger = new StderrLogger();
    Console.WriteLine("ready");
    if (await Console.In.ReadLineAsync() != "go")
    {
        Console.Error.WriteLine("expected 'go' on stdin");
        return 2;
    }

    if (messages)
    {
        await ConcurrentWrites.WriteMessagesAsync(new FileSessionStore(target, logger.For<FileSessionStore>()), sessionId, count, label);
    }
    else
    {
        await ConcurrentWrites.WriteHistoryAsync(new JsonlSessionHistory(target, logger.For<JsonlSessionHistory>()), sessionId, count, label);
    }

    return logger.Warnings == 0 ? 0 : 3;
}

async Task<int> LockAsync()
{
    ISessionLockProvider provider = backend switch
    {
        "file" => new FileSessionLockProvider(Path.Combine(target, "locks"), TimeSpan.FromMilliseconds(20)),
        "sqlite" => new FileSessionLockProvider(Path.GetFullPath(target) + ".locks", TimeSpan.FromMilliseconds(20)),
        _ => new PostgreSqlSessionLockProvider(target),
    };
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
    ISessionStore store = backend switch
    {
        "file" => new FileSessionStore(target),
        "sqlite" => new SqliteSessionStore(target),
        _ => new PostgreSqlSessionStore(target),
    };
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
//   park <text>    starts a turn in the background: the model streams <text>, prints "parked" and waits for "release"
//                  (or the turn's abort), then streams " and the rest".
//   release        lets the parked model go on.
//   say <text>     runs a turn whose model answers <text> at once, and waits for it.
//   run <n>        runs n turns like "say reply <i>" one after another, then prints "done <n>".
//   abort          calls ISessionService.Abort(session id) and prints "abort True" or "abort False".
//   update <n> <l> makes n UpdateAsync calls, each adding the metadata key "<l>-<i>", then prints "updated <n>".
//   crash <point>  starts a turn that stops for good at <point>, printing "at <point>" there (the test then kills the
//                  process): streaming (the second step streams, after a tool step), tool (inside a tool), compaction
//                  (inside the summary call, after a turn that filled the context), and, with "pausing": completed
//                  (the reply stored complete, nothing after), history (its history end entry written, the totals not
//                  yet), totals (the totals written).
//   follow <after> subscribes to the session's events after sequence <after> (ISessionEvents, "postgres-events" carries
//                  them across processes), prints "following", and at each TurnCompleted prints "followed <count> <first
//                  sequence> <last sequence> <consecutive: True|False> <text of the turn's text deltas>" for the events since
//                  the previous TurnCompleted; an event raised outside a turn (a session created, updated or deleted,
//                  arriving between turns) prints "outside <type> <sequence>" instead.
//   rename <title> renames the session (UpdateAsync) and prints "renamed".
//   delete         deletes the session and prints "deleted True" or "deleted False".
//   quit           waits for a turn still running, then exits 0 (so does the end of stdin).
// A turn prints "completed <exit reason> <error kind or none> <text of the reply>" when its event stream has ended (the
// session's lock is free again by then), "busy" when the session is
// busy (SessionBusyException), or "failed <exception type>: <message>".
async Task<int> ChatAsync(string dataDirectory, bool pausing)
{
    ScriptedResponse next = new();
    var client = new ScriptedChatClient(_ => next);
    var never = new TaskCompletionSource().Task;
    var services = new ServiceCollection();
    var builder = WorkerAgentCore.Add(services, backend, target, dataDirectory, client);
    builder.AddTool(AIFunctionFactory.Create(() => "noted", "note", "Notes something."));
    builder.AddTool(AIFunctionFactory.Create(
        async (CancellationToken token) =>
        {
            Console.WriteLine("at tool");
            await never.WaitAsync(token);
            return "never";
        },
        "block", "Never returns."));
    if (pausing && backend == "file")
    {
        // Wrapped, the store is no longer the file store the default lock is chosen for: name the same lock.
        builder.Services.AddSingleton<ISessionLockProvider>(new FileSessionLockProvider(Path.Combine(dataDirectory, "locks")));
    }

    if (pausing)
    {
        Decorate<ISessionStore>(builder.Services, static inner => new PausingStore(inner));
        Decorate<ISessionHistory>(builder.Services, static inner => new PausingHistory(inner));
    }

    await using var provider = services.BuildServiceProvider();
    var sessions = provider.GetRequiredService<ISessionService>();

    TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    Task running = Task.CompletedTask;
    using var following = new CancellationTokenSource();
    Task followed = Task.CompletedTask;
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
            case "update":
                string[] update = argument.Split(' ');
                int updates = int.Parse(update[0], System.Globalization.CultureInfo.InvariantCulture);
                for (int i = 0; i < updates; i++)
                {
                    string key = $"{update[1]}-{i}";
                    await sessions.UpdateAsync(sessionId, s => s with { Metadata = new Dictionary<string, string>(s.Metadata) { [key] = "set" } });
                }

                Console.WriteLine($"updated {updates}");
                break;
            case "crash":
                running = CrashAsync(argument);
                break;
            case "rename":
                await sessions.UpdateAsync(sessionId, s => s with { Title = argument });
                Console.WriteLine("renamed");
                break;
            case "delete":
                Console.WriteLine($"deleted {await sessions.DeleteAsync(sessionId)}");
                break;
            case "follow":
                var events = provider.GetRequiredService<ISessionEvents>()
                    .SubscribeAsync(sessionId, long.Parse(argument, System.Globalization.CultureInfo.InvariantCulture), following.Token);
                Console.WriteLine("following");
                followed = FollowAsync(events);
                break;
            case "quit":
                await running;
                await following.CancelAsync();
                await followed;
                return 0;
            default:
                Console.WriteLine($"unknown command {words[0]}");
                break;
        }
    }

    await running;
    await following.CancelAsync();
    await followed;
    return 0;

    static async Task FollowAsync(IAsyncEnumerable<SessionEvent> events)
    {
        var turn = new List<SessionEvent>();
        try
        {
            await foreach (var sessionEvent in events)
            {
                if (turn.Count == 0 && sessionEvent is SessionCreated or SessionUpdated or SessionDeleted)
                {
                    Console.WriteLine($"outside {SessionEventJson.TypeOf(sessionEvent)} {sessionEvent.Sequence}");
                    continue;
                }

                turn.Add(sessionEvent);
                if (sessionEvent is TurnCompleted)
                {
                    bool consecutive = turn.Select((e, i) => e.Sequence == turn[0].Sequence + i).All(static ok => ok);
                    string text = string.Concat(turn.OfType<TextDelta>().Select(static d => d.Text));
                    Console.WriteLine($"followed {turn.Count} {turn[0].Sequence} {turn[^1].Sequence} {consecutive} {text}");
                    turn.Clear();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            Console.WriteLine($"failed {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}");
        }
    }

    async Task CrashAsync(string point)
    {
        switch (point)
        {
            case "streaming":
                client.Enqueue(r => r.ToolCall("call_1", "note").Usage(1_000, 100).Finish(ChatFinishReason.ToolCalls));
                client.Enqueue(r => r.Text("partial").Then(static () => Console.WriteLine("at streaming")).WaitFor(never));
                break;
            case "tool":
                client.Enqueue(r => r.ToolCall("call_1", "block").Usage(1_000, 100).Finish(ChatFinishReason.ToolCalls));
                break;
            case "compaction":
                // A reply that fills the context (95 100 tokens of a usable 96 000 × 0.9), so the next turn compacts first.
                next = new ScriptedResponse().Text("long").Usage(95_000, 100).Finish(ChatFinishReason.Stop);
                await TurnAsync();
                client.Enqueue(r => r.Text("the summary").Usage(2_000, 50).Then(static () => Console.WriteLine("at compaction")).WaitFor(never));
                break;
            case "completed" or "history" or "totals":
                Pausing.Point = point;
                client.Enqueue(r => r.Text("done").Usage(1_000, 100).Finish(ChatFinishReason.Stop));
                break;
            default:
                Console.WriteLine($"unknown point {point}");
                return;
        }

        await TurnAsync();
    }

    async Task TurnAsync()
    {
        try
        {
            var completed = await WorkerAgentCore.TurnAsync(sessions, new ChatRequest { SessionId = sessionId, Text = "go" });
            Console.WriteLine($"completed {completed.ExitReason} {completed.Message.Error?.Kind.ToString() ?? "none"} {completed.Message.Text}");
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

// Replaces the registration of T with one that wraps it.
static void Decorate<T>(IServiceCollection services, Func<T, T> wrap)
    where T : class
{
    var inner = services.Last(static d => d.ServiceType == typeof(T));
    services.RemoveAll<T>();
    services.AddSingleton<T>(sp => wrap(inner switch
    {
        { ImplementationInstance: T instance } => instance,
        { ImplementationFactory: { } factory } => (T)factory(sp),
        _ => (T)ActivatorUtilities.CreateInstance(sp, inner.ImplementationType!),
    }));
}
