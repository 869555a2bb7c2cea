namespace AgentCore;

/// <summary>
/// Settings of AgentCore, bound by <c>AddAgentCore(options =&gt; ...)</c> or from configuration.
/// Validated when the first service is resolved: a bad value is an <see cref="Microsoft.Extensions.Options.OptionsValidationException"/>
/// naming the setting and the value.
/// </summary>
public sealed class AgentCoreOptions
{
    private string? _dataDirectory;

    /// <summary>
    /// Where the file store and the usage history live. Default: <c>&lt;local application data&gt;/agentcore/&lt;application name&gt;</c>,
    /// so two apps on one machine never share sessions. The application name is the host's
    /// <c>IHostEnvironment.ApplicationName</c> when the app has a host, else the entry assembly's name; characters a folder
    /// name cannot hold become <c>_</c>. Set the same folder in two apps to share their sessions deliberately; setting null restores the default.
    /// </summary>
    public string DataDirectory
    {
        get => _dataDirectory ?? DefaultDataDirectory(applicationName: null);
        set => _dataDirectory = value;
    }

    /// <summary>Whether <see cref="DataDirectory"/> was set (in code or by configuration) rather than left to its default.</summary>
    internal bool HasDataDirectory => _dataDirectory is not null;

    /// <summary>The root of the default data folders: the user's local application data folder + <c>agentcore</c>.</summary>
    internal static string DefaultDataRoot =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "agentcore");

    /// <summary>The default data folder of <paramref name="applicationName"/> (null: the entry assembly's name).</summary>
    internal static string DefaultDataDirectory(string? applicationName) =>
        Path.Combine(DefaultDataRoot, FolderName(applicationName ?? System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name));

    /// <summary>An application name as one folder name: invalid file-name characters, separators and spaces become '_'; empty or dots only becomes <c>default</c>.</summary>
    internal static string FolderName(string? applicationName)
    {
        if (string.IsNullOrWhiteSpace(applicationName))
        {
            return "default";
        }

        var invalid = Path.GetInvalidFileNameChars();
        var chars = applicationName.Trim().ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (Array.IndexOf(invalid, chars[i]) >= 0 || chars[i] is '/' or '\\' or ':' or ' ' || char.IsControl(chars[i]))
            {
                chars[i] = '_';
            }
        }

        string name = new(chars);
        return name.Trim('.').Length == 0 ? "default" : name;
    }

    /// <summary>The model used when a request names none, as <c>provider/model</c>. Default: none (each request must name one, unless exactly one model is registered).</summary>
    public string? DefaultModel { get; set; }

    /// <summary>The most model calls one turn may make. Default 1000. On the last step tools are withheld so the model answers in text.</summary>
    public int MaxSteps { get; set; } = 1000;

    /// <summary>How many times a transient model failure is retried. Default 6; 0 turns retries off.</summary>
    public int MaxRetries { get; set; } = 6;

    /// <summary>
    /// The longest a provider may ask AgentCore to wait before a retry (its <c>retry-after-ms</c> or <c>Retry-After</c>).
    /// A failure asking for longer is not retried: the turn ends with a <see cref="RetryDelayTooLongException"/> naming
    /// the delay. AgentCore's own backoff (when the provider names no delay) is also capped at this value.
    /// Default 60 seconds; between 0 and 1 day.
    /// </summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Whether the context is compacted (summarized) automatically near the context window. Default true.</summary>
    public bool AutoCompaction { get; set; } = true;

    /// <summary>The share of the usable window (context window − max output) above which a turn compacts first. Default 0.9; between 0 and 1.</summary>
    public double CompactionThreshold { get; set; } = 0.9;

    /// <summary>
    /// How many estimated tokens of the newest tool outputs compaction leaves alone; older outputs are pruned from
    /// prompts (replaced by a placeholder, kept in the store). Default 40 000.
    /// </summary>
    public int PruneProtectedTokens { get; set; } = 40_000;

    /// <summary>Whether a title is generated from the first message of a session. Default true.</summary>
    public bool GenerateTitles { get; set; } = true;

    /// <summary>The model that writes titles, as <c>provider/model</c>. Default: the turn's model.</summary>
    public string? TitleModel { get; set; }

    /// <summary>The base system prompt. Default: AgentCore's own.</summary>
    public string? SystemPrompt { get; set; }

    /// <summary>Whether the system prompt tells the model about its environment: working directory, platform, today's date. Default true.</summary>
    public bool IncludeEnvironment { get; set; } = true;

    /// <summary>
    /// Whether the system prompt includes context files (<see cref="ContextFileNames"/>) found from <see cref="WorkingDirectory"/>
    /// upward, up to the project root: the nearest folder holding <c>.git</c>, else <see cref="WorkingDirectory"/> itself (nothing
    /// above it is read). Default true.
    /// </summary>
    public bool IncludeContextFiles { get; set; } = true;

    /// <summary>
    /// The context files looked for in <see cref="WorkingDirectory"/> and each folder above it up to the project root.
    /// Left empty, <c>AddAgentCore</c> fills in the default, <c>AGENTS.md</c>, after every configuration source has been
    /// applied, so a bound list (<c>"ContextFileNames": [ "CLAUDE.md" ]</c>) replaces the default rather than adding to it.
    /// To read no context files, set <see cref="IncludeContextFiles"/> to false.
    /// </summary>
    public IList<string> ContextFileNames { get; set; } = [];

    /// <summary>The context file read when <see cref="ContextFileNames"/> is left empty.</summary>
    internal const string DefaultContextFileName = "AGENTS.md";

    /// <summary>The working directory the system prompt describes and context files are searched from. Default: the current directory.</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>The most bytes (UTF-8) of one tool's output sent to the model; the rest is cut with a visible marker. Default 50 000.</summary>
    public int MaxToolOutputBytes { get; set; } = 50_000;

    /// <summary>Whether the tool calls of one step run concurrently. Default false (one after another, in order).</summary>
    public bool ParallelToolCalls { get; set; }

    /// <summary>
    /// Tools whose every call needs a person's approval before it runs, by name (as the model sees it; an MCP tool's
    /// name includes its server's prefix when names clash). Default: none. Tools that are an
    /// <see cref="Microsoft.Extensions.AI.ApprovalRequiredAIFunction"/>, every tool of an MCP server with
    /// <see cref="McpServerConfig.RequireApproval"/> and calls an <see cref="IToolApprovalPolicy"/> picks need approval too.
    /// See docs/approval-and-limits.md.
    /// </summary>
    public IList<string> ToolsRequiringApproval { get; set; } = new List<string>();

    /// <summary>
    /// The most one turn may cost, in USD: checked before each model call against what the turn has spent; once reached,
    /// the turn ends with <see cref="ExitReason.BudgetExceeded"/>. One step may overshoot it (its cost is known only when
    /// it ends). Default: no limit; above 0 when set. Overridable per request (<see cref="ChatRequest.Budget"/>).
    /// </summary>
    public decimal? MaxCostPerTurn { get; set; }

    /// <summary>
    /// The most a session may cost in all, in USD: checked before each model call against the session's total plus what
    /// the turn has spent; once reached, the turn ends with <see cref="ExitReason.BudgetExceeded"/> (at once, when the
    /// session had spent it already). Default: no limit; above 0 when set. Overridable per request.
    /// </summary>
    public decimal? MaxCostPerSession { get; set; }

    /// <summary>
    /// The most tokens (<see cref="TokenUsage.Total"/>) one turn may use: checked like <see cref="MaxCostPerTurn"/>.
    /// Default: no limit; above 0 when set. Overridable per request.
    /// </summary>
    public long? MaxTokensPerTurn { get; set; }

    /// <summary>
    /// How many times in a row the model may call the same tool with identical arguments: the call that would make it
    /// this many is not run and the turn ends with <see cref="ExitReason.DoomLoop"/> (or, with
    /// <see cref="DoomLoopRequiresApproval"/>, waits for a person's approval). Default 3; 0 turns the guard off.
    /// </summary>
    public int DoomLoopThreshold { get; set; } = 3;

    /// <summary>
    /// Whether a repeated call (<see cref="DoomLoopThreshold"/>) waits for a person's approval instead of ending the turn.
    /// Default <see langword="false"/>.
    /// </summary>
    public bool DoomLoopRequiresApproval { get; set; }

    /// <summary>
    /// How many tool calls in a row may fail before the turn ends (with <see cref="ExitReason.Error"/> and
    /// <see cref="MessageErrorKind.ToolErrors"/>) instead of asking the model again. Default 3, as Microsoft.Extensions.AI's
    /// <c>FunctionInvokingChatClient.MaximumConsecutiveErrorsPerRequest</c>; 0 turns the cap off.
    /// </summary>
    public int MaxConsecutiveToolErrors { get; set; } = 3;

    /// <summary>
    /// How long <see cref="ISessionService.Abort"/> waits for a running tool to honour its cancellation token. After it the
    /// call is closed as aborted, the session is free, and whatever the tool returns later is discarded. Default 5 seconds,
    /// on the injected <see cref="TimeProvider"/>; 0 to 1 hour.
    /// </summary>
    public TimeSpan AbortGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The agent id written to the usage history. Default <c>agentcore</c>.</summary>
    public string AgentId { get; set; } = "agentcore";

    /// <summary>The project written to the usage history. Default: the current directory.</summary>
    public string? Project { get; set; }

    /// <summary>
    /// Whether AgentCore's spans carry message contents: the user's message and the reply on <c>invoke_agent</c>
    /// (<c>gen_ai.input.messages</c>, <c>gen_ai.output.messages</c>), tool arguments and results on <c>execute_tool</c>
    /// (<c>gen_ai.tool.call.arguments</c>, <c>gen_ai.tool.call.result</c>) and tool error texts, summaries and titles.
    /// Default false: spans and metrics then carry ids, names, counts, costs and error types only. Like
    /// Microsoft.Extensions.AI's <c>EnableSensitiveData</c>, turn it on only where the telemetry backend may hold
    /// what users type. See <c>docs/observability.md</c>.
    /// </summary>
    public bool EnableSensitiveTelemetryData { get; set; }

    /// <summary>
    /// MCP servers whose tools every turn may call, by name (1 to 32 letters, digits, '_' or '-'). The same as
    /// <c>AddMcpServer(name, config)</c>, and bindable from configuration. Default: none. See <see cref="McpServerConfig"/>.
    /// </summary>
    /// <example>
    /// <code>
    /// "AgentCore": {
    ///   "McpServers": {
    ///     "everything": { "Command": "npx", "Arguments": [ "-y", "@modelcontextprotocol/server-everything" ] },
    ///     "github": { "Command": "github-mcp-server", "Arguments": [ "stdio" ], "Environment": { "GITHUB_TOKEN": "..." } },
    ///     "remote": { "Endpoint": "https://mcp.example.com/mcp", "Headers": { "Authorization": "Bearer ..." }, "ConnectTimeout": "00:00:10" }
    ///   }
    /// }
    /// </code>
    /// </example>
    public IDictionary<string, McpServerConfig> McpServers { get; set; } = new Dictionary<string, McpServerConfig>(StringComparer.Ordinal);
}
