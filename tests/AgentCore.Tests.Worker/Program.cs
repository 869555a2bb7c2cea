using AgentCore;
using AgentCore.Tests.Worker;

// A second process for the tests of AgentCore.Tests: it writes to a data directory while the test process
// writes to the same one, so the tests can check that no write is torn or lost across processes.
//
//   AgentCore.Tests.Worker messages <dataDirectory> <sessionId> <count> <label>
//   AgentCore.Tests.Worker history  <dataDirectory> <sessionId> <count> <label>
//
// It prints "ready", waits for a "go" line on stdin (so both processes start writing at once), writes,
// and exits 0. Any warning a store logs, or any failure, makes it exit non-zero with the reason on stderr.
if (args.Length != 5 || !int.TryParse(args[3], out int count))
{
    Console.Error.WriteLine("usage: AgentCore.Tests.Worker messages|history <dataDirectory> <sessionId> <count> <label>");
    return 2;
}

string mode = args[0];
string dataDirectory = args[1];
string sessionId = args[2];
string label = args[4];

Console.Out.WriteLine("ready");
Console.Out.Flush();
if (Console.In.ReadLine() != "go")
{
    Console.Error.WriteLine("expected 'go' on stdin");
    return 2;
}

var logger = new StderrLogger();
switch (mode)
{
    case "messages":
        await ConcurrentWrites.WriteMessagesAsync(new FileSessionStore(dataDirectory, logger.For<FileSessionStore>()), sessionId, count, label);
        break;
    case "history":
        await ConcurrentWrites.WriteHistoryAsync(new JsonlSessionHistory(dataDirectory, logger.For<JsonlSessionHistory>()), sessionId, count, label);
        break;
    default:
        Console.Error.WriteLine($"unknown mode '{mode}'");
        return 2;
}

return logger.Warnings == 0 ? 0 : 3;
