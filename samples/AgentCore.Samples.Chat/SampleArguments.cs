namespace AgentCore.Samples.Chat;

/// <summary>The sample's command line (and the environment variables it reads).</summary>
internal sealed record SampleArguments
{
    /// <summary>The environment variable holding an MCP server command line, as an alternative to <c>--mcp</c>.</summary>
    public const string McpVariable = "AGENTCORE_SAMPLE_MCP";

    public const string Usage = """
        Usage: ./scripts/run-sample.sh [options]

          --prompt "<text>"         ask once, print the reply and exit (otherwise: an interactive chat)
          --resume <session id>     continue a session instead of starting a new one
          --model <model id>        with ANTHROPIC_API_KEY: claude-sonnet-4-5 (default) or claude-haiku-4-5
          --mcp "<command> <args>"  add an MCP server started over stdio (or set AGENTCORE_SAMPLE_MCP)
          --data <dir>              where sessions and the usage history live (default: AgentCore's DataDirectory)
          --verbose                 write AgentCore's log to stderr (off by default)
          --help                    show this help

        Without ANTHROPIC_API_KEY the sample uses an offline demo model (no network, no key).
        """;

    public string? Prompt { get; init; }

    public string? Resume { get; init; }

    public string? Model { get; init; }

    public string? McpCommand { get; init; }

    public string? DataDirectory { get; init; }

    public bool Verbose { get; init; }

    public bool Help { get; init; }

    /// <summary>Parses the arguments; returns null and an error when they are not valid.</summary>
    public static SampleArguments? Parse(IReadOnlyList<string> args, out string? error)
    {
        var parsed = new SampleArguments { McpCommand = NullIfEmpty(Environment.GetEnvironmentVariable(McpVariable)) };
        error = null;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "--help" or "-h":
                    parsed = parsed with { Help = true };
                    break;
                case "--verbose":
                    parsed = parsed with { Verbose = true };
                    break;
                case "--prompt" or "--resume" or "--model" or "--mcp" or "--data":
                    if (i + 1 >= args.Count || string.IsNullOrWhiteSpace(args[i + 1]))
                    {
                        error = $"{arg} needs a value.";
                        return null;
                    }

                    string value = args[++i];
                    parsed = arg switch
                    {
                        "--prompt" => parsed with { Prompt = value },
                        "--resume" => parsed with { Resume = value },
                        "--model" => parsed with { Model = value },
                        "--mcp" => parsed with { McpCommand = value },
                        _ => parsed with { DataDirectory = Path.GetFullPath(value) },
                    };
                    break;
                default:
                    error = $"Unknown argument '{arg}'.";
                    return null;
            }
        }

        return parsed;
    }

    /// <summary>Splits a command line into words: spaces separate, double quotes group.</summary>
    public static List<string> SplitCommandLine(string commandLine)
    {
        var words = new List<string>();
        var word = new System.Text.StringBuilder();
        bool quoted = false, inWord = false;
        foreach (char c in commandLine)
        {
            if (c == '"')
            {
                quoted = !quoted;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c) && !quoted)
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else
            {
                word.Append(c);
                inWord = true;
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
