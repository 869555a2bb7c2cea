using System.Text.Json;

namespace AgentCore.Samples.Chat;

/// <summary>Writes the events of one turn as they arrive: streamed text, tool calls, retries and compaction.</summary>
internal sealed class TurnPrinter(TextWriter output)
{
    private bool _midLine;

    /// <summary>The completed assistant message, once <see cref="TurnCompleted"/> has arrived.</summary>
    public TurnCompleted? Completed { get; private set; }

    /// <summary>The tool calls of the turn that wait for the user's approval.</summary>
    public List<ToolApprovalRequested> Approvals { get; } = [];

    public void Print(SessionEvent sessionEvent)
    {
        switch (sessionEvent)
        {
            case TextDelta delta:
                output.Write(delta.Text);
                _midLine = !delta.Text.EndsWith('\n');
                break;

            case ToolCallUpdated { Part: var tool } when tool.State == ToolState.Running:
                Line($"[tool {tool.ToolName}] running {Arguments(tool)}");
                break;

            case ToolCallUpdated { Part: var tool } when tool.State == ToolState.Completed:
                Line($"[tool {tool.ToolName}] completed: {Text.Short(tool.Output, 100)}");
                break;

            case ToolCallUpdated { Part: var tool } when tool.State == ToolState.Error:
                Line($"[tool {tool.ToolName}] error: {Text.Short(tool.Error, 100)}");
                break;

            case ToolApprovalRequested approval:
                Approvals.Add(approval);
                Line($"[tool {approval.Part.ToolName}] needs your approval {Arguments(approval.Part)}");
                break;

            case Retrying retrying:
                Line($"[retry {retrying.Attempt} in {retrying.Delay.TotalSeconds:0.#} s: {retrying.Reason}]");
                break;

            case CompactionStarted started:
                Line($"[compacting the context: about {started.TokensBefore:N0} tokens]");
                break;

            case CompactionFinished finished:
                Line($"[compacted: about {finished.TokensBefore:N0} -> {finished.TokensAfter:N0} tokens]");
                break;

            case TurnCompleted completed:
                EndLine();
                Completed = completed;
                if (completed.Message.Error is { } error)
                {
                    output.WriteLine($"-- {completed.ExitReason}: {error.Message}");
                }

                break;
        }
    }

    /// <summary>Ends the line the streamed text left open.</summary>
    public void EndLine()
    {
        if (_midLine)
        {
            output.WriteLine();
            _midLine = false;
        }
    }

    private void Line(string text)
    {
        EndLine();
        output.WriteLine(text);
    }

    private static string Arguments(ToolPart tool) =>
        tool.Arguments is { } arguments ? Text.Short(JsonSerializer.Serialize(arguments), 80) : "";
}

/// <summary>Formatting shared by the sample's output.</summary>
internal static class Text
{
    /// <summary>The first line of <paramref name="value"/>, cut to <paramref name="max"/> characters.</summary>
    public static string Short(string? value, int max)
    {
        string line = (value ?? "").Trim().Split('\n')[0].TrimEnd('\r');
        return line.Length <= max ? line : line[..max] + "...";
    }

    /// <summary>USD with at least four decimals and up to six (a short turn costs fractions of a cent).</summary>
    public static string Money(decimal usd) => "$" + usd.ToString("0.0000##");

    /// <summary>A price per million tokens: <c>$3</c>, <c>$0.3</c>, <c>$3.75</c>.</summary>
    public static string Price(decimal usd) => "$" + usd.ToString("0.####");

    public static string Plural(long count, string noun) => $"{count:N0} {noun}{(count == 1 ? "" : "s")}";

    public static string Local(DateTimeOffset time) => time.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss");
}
