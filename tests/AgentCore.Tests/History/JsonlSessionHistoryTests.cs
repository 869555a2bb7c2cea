using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentCore.Tests.Fakes;
using AgentCore.Tests.Support;
using AgentCore.Storage.Worker;

namespace AgentCore.Tests.History;

public sealed class JsonlSessionHistoryTests
{
    // Lines in the exact shape letta-code's sessionHistory.ts writes (JSON.stringify of its entry object:
    // its key order, optional keys left out when undefined).
    private const string SeedStartLine =
        """{"agent_id":"agent-7f3a","session_id":"conv-91b2","timestamp":1767268800000,"project":"/srv/projects/app","model":"claude-sonnet-4-5","provider":"anthropic","usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"cached_input_tokens":0,"cache_write_tokens":0,"reasoning_tokens":0,"steps":0},"duration":{"api_ms":0,"wall_ms":0},"cost":{"type":"hosted"}}""";

    private const string SeedByokEndLine =
        """{"agent_id":"agent-7f3a","session_id":"conv-91b2","timestamp":1767268865432,"project":"/srv/projects/app","model":"claude-sonnet-4-5","provider":"anthropic","usage":{"prompt_tokens":15230,"completion_tokens":842,"total_tokens":16072,"cached_input_tokens":12000,"cache_write_tokens":1500,"reasoning_tokens":120,"context_tokens":9876,"steps":4},"duration":{"api_ms":12345.678,"wall_ms":65432},"cost":{"type":"byok","usd_byok":0.0123},"message_count":12,"tool_call_count":3,"exit_reason":"completed"}""";

    private const string SeedHostedEndLine =
        """{"agent_id":"agent-7f3a","session_id":"conv-c044","timestamp":1767272400000,"project":"","model":"gpt-5","provider":"openai","usage":{"prompt_tokens":300,"completion_tokens":40,"total_tokens":340,"cached_input_tokens":0,"cache_write_tokens":0,"reasoning_tokens":0,"context_tokens":340,"steps":1},"duration":{"api_ms":800,"wall_ms":1200},"cost":{"type":"hosted","credits_used":1.5},"message_count":2,"tool_call_count":0,"exit_reason":"aborted"}""";

    private TempDirectory _temp = null!;
    private CapturingLogger<JsonlSessionHistory> _logger = null!;

    [SetUp]
    public void SetUp()
    {
        _temp = new TempDirectory();
        _logger = new CapturingLogger<JsonlSessionHistory>();
    }

    [TearDown]
    public void TearDown() => _temp.Dispose();

    private JsonlSessionHistory History() => new(_temp.Path, _logger);

    private string FilePath => _temp.Combine(JsonlSessionHistory.FileName);

    [Test]
    public void FilePath_Always_SessionsJsonlInTheDataDirectory()
    {
        History().FilePath.Should().Be(Path.Combine(_temp.Path, "sessions.jsonl"));
    }

    [Test]
    public async Task ReadAsync_NoFile_Nothing()
    {
        (await ReadAllAsync(new JsonlSessionHistory(_temp.Combine("missing", "folder"), _logger))).Should().BeEmpty();
    }

    [Test]
    public async Task RecordStartAsync_DataDirectoryMissing_CreatesIt()
    {
        var history = new JsonlSessionHistory(_temp.Combine("new", "data"), _logger);

        await history.RecordStartAsync(new SessionHistoryEntry { SessionId = "ses_a" });

        File.Exists(_temp.Combine("new", "data", "sessions.jsonl")).Should().BeTrue();
    }

    // ---- the seed's format ----

    [Test]
    public async Task ReadAsync_SeedStartLine_ReadsEveryField()
    {
        await File.WriteAllTextAsync(FilePath, SeedStartLine + "\n");

        var entry = (await ReadAllAsync(History())).Should().ContainSingle().Subject;

        entry.Should().Be(new SessionHistoryEntry
        {
            AgentId = "agent-7f3a",
            SessionId = "conv-91b2",
            Timestamp = 1767268800000,
            Project = "/srv/projects/app",
            Model = "claude-sonnet-4-5",
            Provider = "anthropic",
            Usage = new HistoryUsage(),
            Duration = new HistoryDuration(),
            Cost = new HistoryCost { Type = HistoryCost.Hosted },
        });
        entry.Usage.ContextTokens.Should().BeNull();
        entry.MessageCount.Should().BeNull();
        entry.ExitReason.Should().BeNull();
        _logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task ReadAsync_SeedByokEndLine_ReadsEveryField()
    {
        await File.WriteAllTextAsync(FilePath, SeedByokEndLine + "\n");

        var entry = (await ReadAllAsync(History())).Should().ContainSingle().Subject;

        entry.Should().Be(new SessionHistoryEntry
        {
            AgentId = "agent-7f3a",
            SessionId = "conv-91b2",
            Timestamp = 1767268865432,
            Project = "/srv/projects/app",
            Model = "claude-sonnet-4-5",
            Provider = "anthropic",
            Usage = new HistoryUsage
            {
                PromptTokens = 15230,
                CompletionTokens = 842,
                TotalTokens = 16072,
                CachedInputTokens = 12000,
                CacheWriteTokens = 1500,
                ReasoningTokens = 120,
                ContextTokens = 9876,
                Steps = 4,
            },
            Duration = new HistoryDuration { ApiMs = 12345.678, WallMs = 65432 },
            Cost = new HistoryCost { Type = HistoryCost.Byok, UsdByok = 0.0123m },
            MessageCount = 12,
            ToolCallCount = 3,
            ExitReason = "completed",
        });
    }

    [Test]
    public async Task ReadAsync_SeedHostedEndLine_ReadsCreditsUsed()
    {
        await File.WriteAllTextAsync(FilePath, SeedHostedEndLine + "\n");

        var entry = (await ReadAllAsync(History())).Should().ContainSingle().Subject;

        entry.Cost.Should().Be(new HistoryCost { Type = HistoryCost.Hosted, CreditsUsed = 1.5m });
        entry.Usage.ContextTokens.Should().Be(340);
        entry.ExitReason.Should().Be("aborted");
        entry.MessageCount.Should().Be(2);
        entry.ToolCallCount.Should().Be(0);
    }

    [Test]
    public async Task RecordEndAsync_EveryField_WritesTheSeedsNamesInItsOrder()
    {
        await History().RecordEndAsync(FullEndEntry());

        using var line = JsonDocument.Parse(File.ReadAllLines(FilePath).Single());
        var root = line.RootElement;
        Names(root).Should().Equal(
            "agent_id", "session_id", "timestamp", "project", "model", "provider", "usage", "duration", "cost",
            "message_count", "tool_call_count", "exit_reason");
        Names(root.GetProperty("usage")).Should().Equal(
            "prompt_tokens", "completion_tokens", "total_tokens", "cached_input_tokens", "cache_write_tokens",
            "reasoning_tokens", "context_tokens", "steps");
        Names(root.GetProperty("duration")).Should().Equal("api_ms", "wall_ms");
        Names(root.GetProperty("cost")).Should().Equal("type", "usd_byok");
        root.GetProperty("cost").GetProperty("type").GetString().Should().Be("byok");
        root.GetProperty("cost").GetProperty("usd_byok").GetDecimal().Should().Be(0.0421m);
        root.GetProperty("usage").GetProperty("context_tokens").GetInt64().Should().Be(7000);
    }

    [Test]
    public async Task RecordStartAsync_StartEntry_WritesExactlyTheSeedsStartShape()
    {
        using var seed = JsonDocument.Parse(SeedStartLine);

        await History().RecordStartAsync(JsonSerializer.Deserialize(SeedStartLine, AgentCoreJson.Options.GetTypeInfo(typeof(SessionHistoryEntry)))
            as SessionHistoryEntry ?? throw new InvalidOperationException());

        File.ReadAllText(FilePath).Should().Be(SeedStartLine + "\n");
    }

    [Test]
    public async Task RecordEndAsync_SeedEndEntries_WrittenBackByteForByte()
    {
        var history = History();
        await File.WriteAllTextAsync(FilePath, SeedByokEndLine + "\n" + SeedHostedEndLine + "\n");
        var entries = await ReadAllAsync(history);
        File.Delete(FilePath);

        foreach (var entry in entries)
        {
            await history.RecordEndAsync(entry);
        }

        File.ReadAllText(FilePath).Should().Be(SeedByokEndLine + "\n" + SeedHostedEndLine + "\n");
    }

    [Test]
    public async Task ReadAsync_OurEntries_RoundTrip()
    {
        var history = History();
        var start = new SessionHistoryEntry
        {
            AgentId = "agentcore",
            SessionId = AgentCoreIds.NewSessionId(),
            Timestamp = 1767268800000,
            Project = "/srv/app",
            Model = "claude-sonnet-4-5",
            Provider = "anthropic",
        };
        var end = FullEndEntry() with { SessionId = start.SessionId };

        await history.RecordStartAsync(start);
        await history.RecordEndAsync(end);

        (await ReadAllAsync(history)).Should().Equal(start, end);
        _logger.Warnings.Should().BeEmpty();
    }

    // ---- corrupt and unusual lines ----

    [Test]
    public async Task ReadAsync_CorruptLines_SkippedWithWarningsOthersRead()
    {
        await File.WriteAllTextAsync(FilePath,
            SeedStartLine + "\n" +
            "this is not json\n" +
            SeedByokEndLine[..40] + "\n" +
            "[1,2,3]\n" +
            "null\n" +
            """{"agent_id":"a","timestamp":"yesterday"}""" + "\n" +
            "\n" +
            "   \r\n" +
            SeedHostedEndLine + "\r\n");

        var entries = await ReadAllAsync(History());

        entries.Select(e => e.SessionId).Should().Equal("conv-91b2", "conv-c044");
        _logger.Warnings.Should().HaveCount(5).And.OnlyContain(w => w.Message.Contains(FilePath));
        _logger.Warnings.Select(w => w.Message).Should().Contain(m => m.Contains("line 2 of"))
            .And.Contain(m => m.Contains("line 6 of"))
            .And.NotContain(m => m.Contains("this is not json"), "a corrupt line's content is never logged");
    }

    [Test]
    public async Task ReadAsync_MissingObjects_DefaultsInsteadOfNulls()
    {
        await File.WriteAllTextAsync(FilePath, """{"session_id":"s","agent_id":null}""" + "\n");

        var entry = (await ReadAllAsync(History())).Should().ContainSingle().Subject;

        entry.AgentId.Should().BeEmpty();
        entry.Project.Should().BeEmpty();
        entry.Usage.Should().Be(new HistoryUsage());
        entry.Duration.Should().Be(new HistoryDuration());
        entry.Cost.Type.Should().Be(HistoryCost.Hosted);
    }

    [Test]
    public async Task ReadAsync_LastLineWithoutNewline_Read()
    {
        await File.WriteAllTextAsync(FilePath, SeedStartLine + "\n" + SeedHostedEndLine);

        (await ReadAllAsync(History())).Should().HaveCount(2);
        _logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task RecordStartAsync_AfterATornLastLine_NewEntryKept()
    {
        var history = History();
        await File.WriteAllTextAsync(FilePath, SeedStartLine + "\n" + SeedByokEndLine[..60]); // a writer died mid-line

        await history.RecordStartAsync(new SessionHistoryEntry { SessionId = "after-restart" });

        (await ReadAllAsync(history)).Select(e => e.SessionId).Should().Equal("conv-91b2", "after-restart");
        _logger.Warnings.Should().ContainSingle();
    }

    // ---- streaming ----

    [Test]
    public async Task ReadAsync_FileManyTimesTheBuffer_ReadsEveryEntryInOrder()
    {
        var history = History();
        var random = new Random(1234);
        var expected = new List<string>();
        var content = new StringBuilder();
        for (int i = 0; i < 3000; i++)
        {
            // Sizes vary so lines and multi-byte characters fall across buffer boundaries.
            string project = $"{i}:" + new string('é', random.Next(0, 300)) + "🎉";
            expected.Add(project);
            content.Append(JsonSerializer.Serialize(new SessionHistoryEntry { SessionId = "s", Project = project }, AgentCoreJson.Options)).Append('\n');
        }

        await File.WriteAllTextAsync(FilePath, content.ToString());
        new FileInfo(FilePath).Length.Should().BeGreaterThan(10 * 64 * 1024);

        (await ReadAllAsync(history)).Select(e => e.Project).Should().Equal(expected);
        _logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task ReadAsync_LinesLongerThanTheBuffer_Read()
    {
        var history = History();
        string[] projects = ["short", new string('x', 300_000), "between", new string('y', 64 * 1024), new string('z', 64 * 1024 - 1), "last"];
        foreach (string project in projects)
        {
            await history.RecordStartAsync(new SessionHistoryEntry { SessionId = "s", Project = project });
        }

        (await ReadAllAsync(history)).Select(e => e.Project).Should().Equal(projects);
        _logger.Warnings.Should().BeEmpty();
    }

    [Test]
    public async Task ReadAsync_WriterStillWriting_YieldsTheFirstEntryBeforeTheFileEnds()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            Assert.Ignore("This test reads from a named pipe (mkfifo), which needs Linux or macOS.");
        }

        // sessions.jsonl is a named pipe: the second line is written only after the reader has yielded the first,
        // so a reader that loaded the whole file before yielding would never see the first entry in time.
        mkfifo(FilePath, Convert.ToUInt32("600", 8)).Should().Be(0, "mkfifo must create the pipe");
        var firstSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var writer = Task.Run(async () =>
        {
            await using var pipe = new FileStream(FilePath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
            await pipe.WriteAsync(Encoding.UTF8.GetBytes(SeedStartLine + "\n"));
            await pipe.FlushAsync();
            await firstSeen.Task.WaitAsync(timeout.Token);
            await pipe.WriteAsync(Encoding.UTF8.GetBytes(SeedByokEndLine + "\n"));
        });

        var entries = new List<SessionHistoryEntry>();
        await foreach (var entry in History().ReadAsync(timeout.Token))
        {
            entries.Add(entry);
            firstSeen.TrySetResult();
        }

        // Bounded: should a reader never open the pipe, the writer stays blocked opening it.
        await writer.WaitAsync(TimeSpan.FromSeconds(30));
        entries.Select(e => e.Timestamp).Should().Equal(1767268800000, 1767268865432);
    }

    /// <summary>
    /// Every kind of line the reader meets, over many 256 KiB chunks: the entries and the warned line numbers are exactly the
    /// serializer's (the reading before the one-pass line reader), letta-code's lines included.
    /// </summary>
    [Test]
    public async Task ReadAsync_MixedLinesOverManyChunks_SameEntriesAndWarningsAsTheSerializer()
    {
        string[] variants =
        [
            SeedStartLine,
            SeedByokEndLine,
            SeedHostedEndLine,
            JsonSerializer.Serialize(FullEndEntry(), AgentCoreJson.Options),
            """{"agent_\u0069d":"esc\"aped \u00e9","session_id":"s\u002d1","model":"gpt\u002d5","extra":{"a":[1,{"b":null}],"c":"d"},"timestamp":5}""",
            """{"session_id":"dup","session_id":"dup2","usage":{"steps":1},"usage":{"steps":2,"steps":3,"unknown":[]}}""",
            """{"agent_id":null,"project":null,"model":null,"provider":null,"usage":null,"duration":null,"cost":null,"exit_reason":null,"message_count":null}""",
            """{"cost":{"type":null,"credits_used":null,"usd_byok":1.2e-3},"duration":{"api_ms":1e3,"wall_ms":-0.5},"usage":{"context_tokens":null}}""",
            """{"cost":{"usd_byok":79228162514264337593543950335}}""",
            """{"cost":{"usd_byok":79228162514264337593543950336000}}""",
            """{"timestamp":"yesterday"}""",
            """{"usage":{"steps":1e20}}""",
            """{"message_count":1.5}""",
            """{"usage":{"prompt_tokens":"12"}}""",
            """{"usage":[1]}""",
            """{"session_id":1}""",
            """{"session_id":"trailing"} x""",
            """{"session_id":"a"}{"session_id":"b"}""",
            """{"session_id":"unterminated""",
            """{"Session_Id":"case differs","timestamp":-9223372036854775808}""",
            """{"timestamp":9223372036854775808}""",
            """  {"session_id":"padded"}	 """,
            "[1,2,3]",
            "null",
            "42",
            "\"text\"",
            "",
            "   \r",
            "{}",
            "{\"session_id\":\"crlf\"}\r",
        ];
        var content = new StringBuilder();
        var random = new Random(14);
        for (int i = 0; i < 4000; i++)
        {
            content.Append(variants[i % variants.Length]);
            if (i % 97 == 0)
            {
                // Now and then a long line, so lines fall across chunk boundaries at many offsets.
                content.Append(' ', random.Next(0, 20_000));
            }

            content.Append('\n');
        }

        content.Append(SeedHostedEndLine); // the last line without its newline
        await File.WriteAllTextAsync(FilePath, content.ToString());
        new FileInfo(FilePath).Length.Should().BeGreaterThan(3 * 256 * 1024);

        var expected = new List<SessionHistoryEntry>();
        var expectedWarnings = new List<int>();
        string[] lines = content.ToString().Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            try
            {
                if (JsonSerializer.Deserialize(Encoding.UTF8.GetBytes(lines[i]), AgentCoreJsonContext.Default.SessionHistoryEntry) is { } entry)
                {
                    expected.Add(entry with
                    {
                        AgentId = entry.AgentId ?? "", SessionId = entry.SessionId ?? "", Project = entry.Project ?? "",
                        Model = entry.Model ?? "", Provider = entry.Provider ?? "", Usage = entry.Usage ?? new HistoryUsage(),
                        Duration = entry.Duration ?? new HistoryDuration(), Cost = entry.Cost ?? new HistoryCost(),
                    });
                }
                else
                {
                    expectedWarnings.Add(i + 1);
                }
            }
            catch (JsonException)
            {
                expectedWarnings.Add(i + 1);
            }
        }

        var entries = await ReadAllAsync(History());

        expectedWarnings.Should().NotBeEmpty();
        expected.Should().HaveCountGreaterThan(1500);
        entries.Should().Equal(expected);
        _logger.Warnings.Select(w => int.Parse(Regex.Match(w.Message, @"line (\d+) of").Groups[1].Value, CultureInfo.InvariantCulture))
            .Should().Equal(expectedWarnings);
    }

    [Test]
    public async Task ReadAsync_CallerStopsAfterTheFirstEntry_StopsCleanlyAndReadsAgain()
    {
        var history = History();
        var line = JsonSerializer.Serialize(FullEndEntry(), AgentCoreJson.Options) + "\n";
        await File.WriteAllTextAsync(FilePath, string.Concat(Enumerable.Repeat(line, 20_000)));

        await foreach (var entry in history.ReadAsync())
        {
            entry.Should().Be(FullEndEntry());
            break;
        }

        (await ReadAllAsync(history)).Should().HaveCount(20_000).And.OnlyContain(e => e == FullEndEntry());
    }

    // ---- concurrency ----

    [Test]
    public async Task RecordStartAsync_ManyTasksAtOnce_LinesNeverInterleave()
    {
        const int tasks = 16;
        const int perTask = 40;
        var shared = History();

        // Half the tasks share one instance, half use their own: both must be safe.
        await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(() =>
            ConcurrentWrites.WriteHistoryAsync(t % 2 == 0 ? shared : History(), "s", perTask, $"task{t}"))));

        var lines = await File.ReadAllLinesAsync(FilePath);
        lines.Should().HaveCount(tasks * perTask);
        var entries = await ReadAllAsync(History());
        _logger.Warnings.Should().BeEmpty();
        for (int t = 0; t < tasks; t++)
        {
            entries.Where(e => e.AgentId == $"task{t}").Select(e => e.Project)
                .Should().Equal(Enumerable.Range(0, perTask).Select(i => ConcurrentWrites.ExpectedProject($"task{t}", i)));
        }
    }

    /// <summary>Entries recorded at once are written together: when that write fails, every one of their calls fails (none hangs).</summary>
    [Test]
    public async Task RecordStartAsync_ManyAtOnceFileUnwritable_EveryCallThrows()
    {
        Directory.CreateDirectory(FilePath); // a folder where the file should be: no append can open it
        var history = History();

        var calls = Enumerable.Range(0, 50)
            .Select(i => Task.Run(async () => await history.RecordStartAsync(new SessionHistoryEntry { SessionId = $"ses_{i}" })))
            .ToList();

        foreach (var call in calls)
        {
            await FluentActions.Awaiting(() => call).Should().ThrowAsync<Exception>().Where(e => e is IOException || e is UnauthorizedAccessException);
        }
    }

    [Test]
    public async Task RecordStartAsync_SecondProcessAppendsAtTheSameTime_LinesNeverInterleave()
    {
        const int count = 300;
        await using var worker = WorkerProcess.Start("history", "file", _temp.Path, "s", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "worker");
        (await worker.ReadLineAsync()).Should().Be("ready");

        await worker.WriteLineAsync("go");
        await ConcurrentWrites.WriteHistoryAsync(History(), "s", count, "test");
        (await worker.WaitForExitAsync()).Should().Be(0, $"the worker must finish without an error or a logged warning; it wrote: {worker.Errors}");

        var entries = await ReadAllAsync(History());
        _logger.Warnings.Should().BeEmpty("every line must parse");
        entries.Should().HaveCount(2 * count);
        foreach (string label in new[] { "test", "worker" })
        {
            entries.Where(e => e.AgentId == label).Select(e => e.Project)
                .Should().Equal(Enumerable.Range(0, count).Select(i => ConcurrentWrites.ExpectedProject(label, i)));
        }
    }

    // ---- helpers ----

    private static SessionHistoryEntry FullEndEntry() => new()
    {
        AgentId = "agentcore",
        SessionId = "ses_end",
        Timestamp = 1767268999000,
        Project = "/srv/app",
        Model = "claude-sonnet-4-5",
        Provider = "anthropic",
        Usage = new HistoryUsage
        {
            PromptTokens = 9000,
            CompletionTokens = 500,
            TotalTokens = 9500,
            CachedInputTokens = 4000,
            CacheWriteTokens = 800,
            ReasoningTokens = 60,
            ContextTokens = 7000,
            Steps = 3,
        },
        Duration = new HistoryDuration { ApiMs = 4200, WallMs = 5100 },
        Cost = new HistoryCost { Type = HistoryCost.Byok, UsdByok = 0.0421m },
        MessageCount = 6,
        ToolCallCount = 2,
        ExitReason = "completed",
    };

    private static List<string> Names(JsonElement element) => element.EnumerateObject().Select(p => p.Name).ToList();

    private static async Task<List<SessionHistoryEntry>> ReadAllAsync(ISessionHistory history)
    {
        var entries = new List<SessionHistoryEntry>();
        await foreach (var entry in history.ReadAsync())
        {
            entries.Add(entry);
        }

        return entries;
    }

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);
}
