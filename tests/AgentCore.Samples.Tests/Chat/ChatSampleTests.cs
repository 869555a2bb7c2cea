using System.Globalization;
using System.Text.RegularExpressions;
using AgentCore.Samples.Tests.Support;
using AgentCore.Tests.Support;
using Microsoft.Extensions.AI;

namespace AgentCore.Samples.Tests.Chat;

/// <summary>
/// samples/AgentCore.Samples.Chat end to end: the built sample (from the packages, by scripts/test.sh) runs as a process
/// with the offline demo model and a temp data folder; the tests read what it printed and what it stored.
/// </summary>
[TestFixture]
public sealed class ChatSampleTests
{
    private const string Sample = "AgentCore.Samples.Chat";
    private const string DemoNotice = "Offline demo model: ANTHROPIC_API_KEY is not set";

    private static readonly Regex CostLine = new(
        @"^-- completed, (?<steps>\d+) steps? \| tokens: (?<input>[\d,]+) in, (?<output>[\d,]+) out \| cost: \$(?<cost>\d+\.\d+) \| session total: \$(?<total>\d+\.\d+)\r?$",
        RegexOptions.Multiline);

    private string _dll = "";
    private TempDirectory _data = null!;
    private TempDirectory _work = null!;

    [SetUp]
    public void SetUp()
    {
        _data = new TempDirectory();
        _work = new TempDirectory();
        _dll = Repository.SampleDll(Sample);
    }

    [TearDown]
    public void TearDown()
    {
        _data.Dispose();
        _work.Dispose();
    }

    [Test]
    public async Task Prompt_WithoutApiKey_StreamsTheDemoReplyPrintsCostAndTitleAndPersistsTheSession()
    {
        var run = await RunAsync(input: null, "--prompt", "Hello from the sample test");

        run.ExitCode.Should().Be(0, run.ToString());
        run.Output.Should().Contain(DemoNotice, run.ToString());
        run.Output.Should().Contain("You said: \"Hello from the sample test\"", run.ToString());
        var cost = CostLine.Match(run.Output);
        cost.Success.Should().BeTrue($"a cost line follows the turn: {run}");
        cost.Groups["steps"].Value.Should().Be("1");
        run.Output.Should().Contain("-- title: Hello from the sample test", run.ToString());

        var store = new FileSessionStore(_data.Path);
        var sessions = await store.ListSessionsAsync().ToListAsync();
        var session = sessions.Should().ContainSingle().Subject;
        session.Title.Should().Be("Hello from the sample test");
        var messages = await store.GetMessagesAsync(session.Id);
        messages.Select(m => m.Role).Should().Equal(ChatRole.User, ChatRole.Assistant);
        messages[0].Text.Should().Be("Hello from the sample test");
        var reply = messages[1];
        reply.CompletedAt.Should().NotBeNull();
        reply.Text.Should().StartWith("This is AgentCore's offline demo model, not a real one");
        run.Output.Should().Contain(reply.Text, "the streamed text is the stored reply");
        reply.Tokens.TotalInput.Should().Be(Tokens(cost, "input"));
        reply.Tokens.Output.Should().Be(Tokens(cost, "output"));
        reply.Cost.Should().Be(Usd(cost, "cost"));

        var history = await new JsonlSessionHistory(_data.Path).ReadAsync().ToListAsync();
        var end = history.Should().ContainSingle(e => e.ExitReason != null && e.Model == "offline-demo").Subject;
        end.SessionId.Should().Be(session.Id);
        end.Cost.UsdByok.Should().Be(reply.Cost);
        var title = history.Should().ContainSingle(e => e.ExitReason != null && e.Model == "offline-demo-titles", "the title call has its own line").Subject;
        title.Cost.UsdByok.Should().BePositive();
        session.Cost.Should().Be(reply.Cost + title.Cost.UsdByok!.Value, "the session total counts the title call");
        // The cost line is printed as the turn ends; the title call, in the background, may have been counted by then.
        Usd(cost, "total").Should().BeOneOf(reply.Cost, session.Cost);
        run.Output.Should().Contain($"-- title: Hello from the sample test | session total with the title call: ${session.Cost.ToString("0.0000##", CultureInfo.InvariantCulture)}");
    }

    [Test]
    public async Task Prompt_AskingTheTime_ShowsTheGetTimeToolCallAndItsOutput()
    {
        var run = await RunAsync(input: null, "--prompt", "What time is it?");

        run.ExitCode.Should().Be(0, run.ToString());
        run.Output.Should().Contain("[tool get_time] running", run.ToString());
        run.Output.Should().Contain("[tool get_time] completed: ", run.ToString());
        run.Output.Should().Contain("The get_time tool says it is", run.ToString());
        CostLine.Match(run.Output).Groups["steps"].Value.Should().Be("2", $"one step calls the tool, the next answers: {run}");

        var store = new FileSessionStore(_data.Path);
        var session = (await store.ListSessionsAsync().ToListAsync()).Should().ContainSingle().Subject;
        var reply = (await store.GetMessagesAsync(session.Id)).Last();
        var tool = reply.Parts.OfType<ToolPart>().Should().ContainSingle().Subject;
        tool.ToolName.Should().Be("get_time");
        tool.State.Should().Be(ToolState.Completed);
        tool.Output.Should().NotBeNullOrWhiteSpace();
        run.Output.Should().Contain($"[tool get_time] completed: {tool.Output}");
    }

    [Test]
    public async Task Interactive_NoteApproved_TurnStopsAsksAndTheToolRunsAfterYes()
    {
        var run = await RunAsync(input: "Please save a note: buy milk\ny\n/quit\n");

        run.ExitCode.Should().Be(0, run.ToString());
        run.Output.Should().Contain("[tool save_note] needs your approval", run.ToString());
        run.Output.Should().Contain("-- awaiting_approval, 1 step", run.ToString());
        run.Output.Should().Contain("Run save_note? [y]es, [n]o, [a]lways in this session: y", run.ToString());
        run.Output.Should().Contain("The save_note tool says: saved the note to", run.ToString());
        File.ReadAllText(Path.Combine(_data.Path, "notes.txt")).Should().Be("Please save a note: buy milk" + Environment.NewLine);

        var store = new FileSessionStore(_data.Path);
        var session = (await store.ListSessionsAsync().ToListAsync()).Should().ContainSingle().Subject;
        var tool = (await store.GetMessagesAsync(session.Id)).SelectMany(m => m.Parts).OfType<ToolPart>().Should().ContainSingle().Subject;
        (tool.State, tool.Approval?.Approved).Should().Be((ToolState.Completed, true));
    }

    [Test]
    public async Task Interactive_NoteRejected_ToolNotRunAndTheModelIsToldNo()
    {
        var run = await RunAsync(input: "Save a note: call mum\nn\n/quit\n");

        run.ExitCode.Should().Be(0, run.ToString());
        run.Output.Should().Contain("Run save_note? [y]es, [n]o, [a]lways in this session: n", run.ToString());
        run.Output.Should().Contain("[tool save_note] error: not run: the user rejected this call: the user said no", run.ToString());
        run.Output.Should().Contain("The save_note tool says: Error: not run: the user rejected this call", run.ToString());
        File.Exists(Path.Combine(_data.Path, "notes.txt")).Should().BeFalse();
    }

    [Test]
    public async Task Interactive_InputEndsBeforeTheAnswer_CallWaitsAndALaterRunApprovesIt()
    {
        var first = await RunAsync(input: "Keep a note: water the plants\n");

        first.ExitCode.Should().Be(0, first.ToString());
        first.Output.Should().Contain("-- no answer: the call keeps waiting.", first.ToString());
        File.Exists(Path.Combine(_data.Path, "notes.txt")).Should().BeFalse();

        var second = await RunAsync(input: "/resume 1\n/approve\ny\n/quit\n");

        second.ExitCode.Should().Be(0, second.ToString());
        second.Output.Should().Contain("1 tool call waiting for your approval", second.ToString());
        second.Output.Should().Contain("The save_note tool says: saved the note to", second.ToString());
        File.ReadAllText(Path.Combine(_data.Path, "notes.txt")).Should().Be("Keep a note: water the plants" + Environment.NewLine);
    }

    [Test]
    public async Task Interactive_SessionsHistoryQuit_ListsTheSessionAndTheTurnAndStopsReading()
    {
        var run = await RunAsync(input: "Tell me something\n/sessions\n/history\n/quit\nA line after quit\n");

        run.ExitCode.Should().Be(0, run.ToString());
        run.Output.Should().Contain(DemoNotice);
        run.Output.Should().Contain("> Tell me something", "piped input is echoed after the prompt");
        run.Output.Should().Contain("You said: \"Tell me something\"", run.ToString());

        var store = new FileSessionStore(_data.Path);
        var session = (await store.ListSessionsAsync().ToListAsync()).Should().ContainSingle("the line after /quit is never sent").Subject;
        string cost = Regex.Escape("$" + session.Cost.ToString("0.0000##", CultureInfo.InvariantCulture));
        var reply = (await store.GetMessagesAsync(session.Id))[1];
        string replyCost = Regex.Escape("$" + reply.Cost.ToString("0.0000##", CultureInfo.InvariantCulture));
        run.Output.Should().MatchRegex($@"(?m)^\*\s+1\. {session.Id} \| Tell me something \| {cost} \| updated \d{{4}}-\d{{2}}-\d{{2}} ", "/sessions lists the session, its title and cost");
        run.Output.Should().Contain("1 session.");
        run.Output.Should().MatchRegex($@"(?m)\| {session.Id} \| demo/offline-demo \| completed \| 1 step \| [\d,]+ in, [\d,]+ out \| {replyCost} \| ", "/history has a line per turn");
        run.Output.Should().MatchRegex($@"(?m)\| {session.Id} \| demo/offline-demo-titles \| completed \| 1 step \| ", "and one for the title call");
        run.Output.Should().MatchRegex($@"(?m)^Total: 2 runs, [\d,]+ tokens in, [\d,]+ out, {cost}\r?$", "the lines add up to the session total");
        run.Output.Should().MatchRegex($@"(?m)^This session: 2 runs, [\d,]+ tokens in, [\d,]+ out, {cost}\r?$");
        run.Output.Should().NotContain("A line after quit");
        (await store.GetMessagesAsync(session.Id)).Should().HaveCount(2);
    }

    [Test]
    public async Task Interactive_ResumeCompactAndChat_ContinuesTheSessionStoredByAnEarlierRun()
    {
        var first = await RunAsync(input: null, "--prompt", "First run message");
        first.ExitCode.Should().Be(0, first.ToString());
        var store = new FileSessionStore(_data.Path);
        var session = (await store.ListSessionsAsync().ToListAsync()).Should().ContainSingle().Subject;

        var second = await RunAsync(input: "/resume 1\n/compact\nSecond run message\n/quit\n");

        second.ExitCode.Should().Be(0, second.ToString());
        second.Output.Should().Contain($"Resumed {session.Id} \"First run message\": 2 messages", second.ToString());
        second.Output.Should().Contain("-- compacted: later prompts start from this summary", second.ToString());
        second.Output.Should().Contain("You said: \"Second run message\"", second.ToString());
        second.Output.Should().NotContain("-- title:", "a resumed session keeps its title");

        (await store.ListSessionsAsync().ToListAsync()).Should().ContainSingle();
        var messages = await store.GetMessagesAsync(session.Id);
        messages.Select(m => (m.Role, m.IsSummary)).Should().Equal(
            (ChatRole.User, false), (ChatRole.Assistant, false), (ChatRole.Assistant, true), (ChatRole.User, false), (ChatRole.Assistant, false));
        messages[3].Text.Should().Be("Second run message");
        var updated = await store.GetSessionAsync(session.Id);
        var titleCalls = (await new JsonlSessionHistory(_data.Path).ReadAsync().ToListAsync()).Where(e => e.ExitReason != null && e.Model == "offline-demo-titles");
        updated!.Cost.Should().Be(messages.Sum(m => m.Cost) + titleCalls.Sum(e => e.Cost.UsdByok ?? 0m), "the session total counts every reply, the summary and the title call");
    }

    [Test]
    public async Task Interactive_ForkRevertExportImport_CopiesRewindsAndMovesTheSession()
    {
        var run = await RunAsync(input: "One\nTwo\n/fork 2\n/revert 1\n/unrevert\n/revert 1\nThree\n/export fork.json\n/import fork.json\n/revert 99\n/quit\n");

        run.ExitCode.Should().Be(0, run.ToString());
        var store = new FileSessionStore(_data.Path);
        var sessions = await store.ListSessionsAsync().ToListAsync();
        sessions.Should().HaveCount(3, run.ToString());
        var original = sessions.Single(s => s.ParentId is null);
        var forked = Regex.Match(run.Output, @"Forked (?<from>ses_\S+) into (?<fork>ses_\S+) ");
        forked.Success.Should().BeTrue(run.ToString());
        forked.Groups["from"].Value.Should().Be(original.Id);
        var fork = sessions.Single(s => s.Id == forked.Groups["fork"].Value);
        fork.ParentId.Should().Be(original.Id);
        fork.Title.Should().Be(original.Title + " (fork)");
        var imported = sessions.Single(s => s.Id != original.Id && s.Id != fork.Id);
        imported.ParentId.Should().Be(original.Id, "an import keeps the parent");
        run.Output.Should().Contain($"Forked {original.Id} into {fork.Id}", run.ToString());
        run.Output.Should().Contain("Reverted: 1 message taken out, 1 message left");
        run.Output.Should().Contain("Unreverted: 2 messages");
        run.Output.Should().Contain($"Exported {fork.Id} to {Path.Combine(_work.Path, "fork.json")}");
        run.Output.Should().Contain($"Imported {imported.Id} \"{fork.Title}\": 3 messages");
        run.Output.Should().Contain("'99' is not a message number: the current session has 3 messages");

        static string Said(SessionMessage m) => m.Role == ChatRole.User ? m.Text : m.Text[m.Text.IndexOf("You said:", StringComparison.Ordinal)..];
        (await store.GetMessagesAsync(original.Id)).Select(Said).Should().Equal("One", "You said: \"One\"", "Two", "You said: \"Two\"");
        var forkMessages = await store.GetMessagesAsync(fork.Id);
        forkMessages.Select(Said).Should().Equal("One", "Three", "You said: \"Three\"");
        (await store.GetMessagesAsync(imported.Id)).Select(m => m.Text).Should().Equal(forkMessages.Select(m => m.Text));
        File.ReadAllText(Path.Combine(_work.Path, "fork.json")).Should().Contain("\"format\": \"agentcore.session\"");
    }

    [Test]
    public async Task Interactive_Search_FindsMessagesOfEarlierSessionsWithTheWordsMarked()
    {
        var run = await RunAsync(input: "Plans for the lighthouse trip\n/new\nSomething else entirely\n/search LIGHTHOUSE trip\n/search zeppelin\n/search ?!\n/search\n/quit\n");

        run.ExitCode.Should().Be(0, run.ToString());
        var store = new FileSessionStore(_data.Path);
        var sessions = await store.ListSessionsAsync().ToListAsync();
        sessions.Should().HaveCount(2, run.ToString());
        var first = sessions.Single(s => s.CreatedAt == sessions.Min(x => x.CreatedAt));
        var messages = await store.GetMessagesAsync(first.Id);
        var hits = Regex.Matches(run.Output, @"^\s+\d+\. (?<session>ses_\S+) "".*"" message (?<n>\d+) \((?<where>[a-z ]+), ", RegexOptions.Multiline);
        hits.Should().HaveCount(2, run.ToString());
        hits.Select(h => h.Groups["session"].Value).Should().OnlyContain(id => id == first.Id);
        hits.Select(h => (h.Groups["n"].Value, h.Groups["where"].Value)).Should().BeEquivalentTo([("1", "user"), ("2", "assistant")]);
        run.Output.Should().Contain("     Plans for the [lighthouse] [trip]", run.ToString());
        run.Output.Should().Contain("2 matches. /resume <session id> to continue one.");
        run.Output.Should().Contain("Nothing found for \"zeppelin\".");
        run.Output.Should().Contain("The search text holds no word to search for");
        run.Output.Should().Contain("Usage: /search <words>");
        messages.Should().HaveCount(2);
    }

    [Test]
    public async Task Mcp_ServerGiven_ConnectsAtStartAndReportsItsTools()
    {
        string node = FindOnPath("node") ?? IgnoredWithout("Node.js is not installed (no 'node' on the PATH): the MCP run of the sample needs it.");
        string server = Path.Combine(Repository.Root, "tests", "mcp-servers", "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");
        if (!File.Exists(server))
        {
            Repository.Missing("@modelcontextprotocol/server-everything is not installed: run 'npm ci --prefix tests/mcp-servers' (scripts/test.sh does).");
        }

        var run = await RunAsync(input: "/quit\n", "--mcp", $"\"{node}\" \"{server}\"");

        run.ExitCode.Should().Be(0, run.ToString());
        run.Output.Should().MatchRegex(@"(?m)^MCP server 'mcp': connected, [1-9]\d* tools? \(named mcp_<tool>\)", run.ToString());
    }

    [Test]
    public async Task Arguments_Unknown_PrintsTheUsageAndExitsWithTwo()
    {
        var run = await RunAsync(input: null, "--no-such-option");

        run.ExitCode.Should().Be(2, run.ToString());
        run.Errors.Should().Contain("Unknown argument '--no-such-option'").And.Contain("Usage:");
        Directory.EnumerateFileSystemEntries(_data.Path).Should().BeEmpty("nothing runs on bad arguments");
    }

    private Task<SampleRun> RunAsync(string? input, params string[] arguments) =>
        SampleProcess.RunAsync(_dll, _work.Path, ["--data", _data.Path, .. arguments], input);

    private static long Tokens(Match match, string group) => long.Parse(match.Groups[group].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    private static decimal Usd(Match match, string group) => decimal.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    private static string IgnoredWithout(string message)
    {
        Assert.Ignore(message);
        return "";
    }
}
