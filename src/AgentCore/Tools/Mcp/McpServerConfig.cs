using System.Text.RegularExpressions;

namespace AgentCore;

/// <summary>
/// How to reach one MCP server: a local process spoken to over stdio (set <see cref="Command"/>) or a remote
/// server over HTTP (set <see cref="Endpoint"/>). Register it with <c>AddMcpServer(name, config)</c> or put it in
/// <see cref="AgentCoreOptions.McpServers"/> (bindable from configuration).
/// </summary>
/// <remarks>
/// A stdio server starts with a clean environment: only the variables in <see cref="Environment"/> plus the few a
/// process needs to start (see <see cref="InheritEnvironment"/>), so the app's API keys do not leak to third-party servers.
/// </remarks>
public sealed partial class McpServerConfig
{
    /// <summary>The longest server name: the name prefixes every tool name, which may be 64 characters in all.</summary>
    internal const int MaxNameLength = 32;

    /// <summary>
    /// The program that runs a stdio server, for example <c>npx</c>, <c>node</c>, <c>uvx</c> or an absolute path.
    /// Looked up on the <c>PATH</c>. Set this or <see cref="Endpoint"/>, not both.
    /// </summary>
    public string? Command { get; set; }

    /// <summary>The arguments passed to <see cref="Command"/>, each as one argument (no shell quoting). Stdio only.</summary>
    public IList<string> Arguments { get; set; } = new List<string>();

    /// <summary>
    /// Environment variables the stdio server gets, for example its API token. Added to the minimal start-up set
    /// (or to the whole inherited environment when <see cref="InheritEnvironment"/> is true), overriding a variable of
    /// the same name. Values are never logged. Stdio only.
    /// </summary>
    public IDictionary<string, string> Environment { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The working directory of the stdio server. Default: the app's current directory. Stdio only.</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>
    /// Whether the stdio server inherits the app's whole environment (then <see cref="Environment"/> is applied on top).
    /// Default <see langword="false"/>: the server gets only <see cref="Environment"/> plus these variables of the app,
    /// where set: on Linux and macOS <c>HOME</c>, <c>LANG</c>, <c>LOGNAME</c>, <c>PATH</c>, <c>SHELL</c>, <c>TERM</c>,
    /// <c>TMPDIR</c>, <c>USER</c>; on Windows <c>APPDATA</c>, <c>COMSPEC</c>, <c>HOMEDRIVE</c>, <c>HOMEPATH</c>,
    /// <c>LOCALAPPDATA</c>, <c>PATH</c>, <c>PATHEXT</c>, <c>PROCESSOR_ARCHITECTURE</c>, <c>PROGRAMDATA</c>,
    /// <c>PROGRAMFILES</c>, <c>SYSTEMDRIVE</c>, <c>SYSTEMROOT</c>, <c>TEMP</c>, <c>TMP</c>, <c>USERNAME</c>,
    /// <c>USERPROFILE</c>, <c>WINDIR</c>. Turn it on only for servers you trust with every secret of the app.
    /// </summary>
    public bool InheritEnvironment { get; set; }

    /// <summary>
    /// The URL of an HTTP server (<c>http</c> or <c>https</c>). Streamable HTTP is tried first, then the older
    /// HTTP with server-sent events. Set this or <see cref="Command"/>, not both.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>HTTP headers sent with every request, for example <c>Authorization</c>. Values are never logged. HTTP only.</summary>
    public IDictionary<string, string> Headers { get; set; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// How long connecting may take, all of it: starting the process or opening the connection, the MCP handshake and
    /// the tool listing. Default 30 seconds; greater than 0 and at most 24 hours. No turn waits longer than this for the
    /// server: one that does not make it is reported as failed and its tools are left out until a back-off has passed
    /// (see <see cref="IMcpServers"/>); stopping its process goes on in the background.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether the server is used. Default <see langword="true"/>. A disabled server is reported but never started.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Whether every call of this server's tools needs a person's approval before it runs (the tools are offered as
    /// <see cref="Microsoft.Extensions.AI.ApprovalRequiredAIFunction"/>s). Default <see langword="false"/>.
    /// See docs/approval-and-limits.md.
    /// </summary>
    public bool RequireApproval { get; set; }

    /// <summary>Whether this is a stdio server (<see cref="Command"/> is set).</summary>
    internal bool IsStdio => !string.IsNullOrWhiteSpace(Command);

    /// <summary>A copy that later changes to this instance (or its collections) do not reach.</summary>
    internal McpServerConfig Snapshot() => new()
    {
        Command = Command,
        Arguments = Arguments?.ToList() ?? [],
        Environment = Environment is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(Environment, StringComparer.Ordinal),
        WorkingDirectory = WorkingDirectory,
        InheritEnvironment = InheritEnvironment,
        Endpoint = Endpoint,
        Headers = Headers is null ? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) : new Dictionary<string, string>(Headers, StringComparer.OrdinalIgnoreCase),
        ConnectTimeout = ConnectTimeout,
        Enabled = Enabled,
        RequireApproval = RequireApproval,
    };

    [GeneratedRegex(@"^[!#$%&'*+.^_`|~0-9A-Za-z-]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex HeaderName();

    /// <summary>Whether <paramref name="name"/> may name a server: 1 to 32 letters, digits, '_' or '-'.</summary>
    internal static bool IsValidName(string? name) => name is { Length: <= MaxNameLength } && ToolNames.Valid().IsMatch(name);

    /// <summary>
    /// Adds a message to <paramref name="failures"/> for each problem of <paramref name="config"/>, naming the setting
    /// as <c>McpServers:&lt;name&gt;:&lt;setting&gt;</c>. Environment and header values are never quoted (they hold secrets).
    /// </summary>
    internal static void Validate(string name, McpServerConfig? config, List<string> failures)
    {
        string prefix = $"{nameof(AgentCoreOptions.McpServers)}:{name}";
        if (!IsValidName(name))
        {
            failures.Add($"{nameof(AgentCoreOptions.McpServers)}: the server name '{name}' is not valid: use 1 to {MaxNameLength} letters, digits, '_' or '-'.");
        }

        if (config is null)
        {
            failures.Add($"{prefix} has no settings.");
            return;
        }

        if (!config.Enabled)
        {
            return;
        }

        bool hasCommand = !string.IsNullOrWhiteSpace(config.Command);
        if (config.Command is not null && !hasCommand)
        {
            failures.Add($"{prefix}:{nameof(Command)} must not be blank (it is '{config.Command}').");
        }

        if (!hasCommand && config.Endpoint is null)
        {
            failures.Add($"{prefix} must set {nameof(Command)} (a stdio server) or {nameof(Endpoint)} (an HTTP server).");
        }
        else if (hasCommand && config.Endpoint is not null)
        {
            failures.Add($"{prefix} sets both {nameof(Command)} and {nameof(Endpoint)}: set only one.");
        }

        if (config.Endpoint is { } endpoint &&
            (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)))
        {
            failures.Add($"{prefix}:{nameof(Endpoint)} must be an absolute http or https URL (it is '{endpoint}').");
        }

        if (config.ConnectTimeout <= TimeSpan.Zero || config.ConnectTimeout > TimeSpan.FromHours(24))
        {
            failures.Add($"{prefix}:{nameof(ConnectTimeout)} must be greater than 0 and at most 24 hours (it is {config.ConnectTimeout}).");
        }

        if (config.Arguments is not null && config.Arguments.Any(a => a is null))
        {
            failures.Add($"{prefix}:{nameof(Arguments)} must not contain null.");
        }

        foreach (var (key, value) in config.Environment ?? new Dictionary<string, string>())
        {
            if (string.IsNullOrEmpty(key) || key.Contains('=', StringComparison.Ordinal) || key.Contains('\0', StringComparison.Ordinal))
            {
                failures.Add($"{prefix}:{nameof(Environment)} has an invalid variable name '{key}'.");
            }
            else if (value is null || value.Contains('\0', StringComparison.Ordinal))
            {
                failures.Add($"{prefix}:{nameof(Environment)}:{key} has a missing or invalid value.");
            }
        }

        foreach (var (key, value) in config.Headers ?? new Dictionary<string, string>())
        {
            if (string.IsNullOrEmpty(key) || !HeaderName().IsMatch(key))
            {
                failures.Add($"{prefix}:{nameof(Headers)} has an invalid header name '{key}'.");
            }
            else if (value is null || value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
            {
                failures.Add($"{prefix}:{nameof(Headers)}:{key} has a missing or invalid value.");
            }
        }

        if (hasCommand && config.Headers is { Count: > 0 })
        {
            failures.Add($"{prefix}:{nameof(Headers)} apply to HTTP servers only; this server sets {nameof(Command)}.");
        }

        if (!hasCommand && config.Endpoint is not null)
        {
            if (config.Arguments is { Count: > 0 } || config.Environment is { Count: > 0 } || config.WorkingDirectory is not null || config.InheritEnvironment)
            {
                failures.Add($"{prefix}: {nameof(Arguments)}, {nameof(Environment)}, {nameof(WorkingDirectory)} and {nameof(InheritEnvironment)} apply to stdio servers only; this server sets {nameof(Endpoint)}.");
            }
        }
    }
}
