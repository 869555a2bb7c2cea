using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentCore;

/// <summary>The base prompt: <see cref="AgentCoreOptions.SystemPrompt"/>, or AgentCore's own.</summary>
internal sealed class BaseSystemPromptProvider(IOptions<AgentCoreOptions> options) : ISystemPromptProvider
{
    public ValueTask<string?> GetSectionAsync(SystemPromptContext context, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<string?>(options.Value.SystemPrompt ?? PromptTemplates.System);
}

/// <summary>The environment: working directory, whether it is a git repository, platform and today's date.</summary>
/// <remarks>
/// The section is built once and reused on the same day for at most <see cref="Refresh"/> on the injected clock, so a
/// turn neither reads the working directory nor looks for a git folder up the tree every time: a change of either shows
/// in the prompt within that time.
/// </remarks>
internal sealed class EnvironmentSystemPromptProvider(IOptions<AgentCoreOptions> options, TimeProvider time) : ISystemPromptProvider
{
    /// <summary>How long a built section is reused at most (a repository created meanwhile shows after this).</summary>
    internal static readonly TimeSpan Refresh = TimeSpan.FromSeconds(30);

    private Built? _built;

    public ValueTask<string?> GetSectionAsync(SystemPromptContext context, CancellationToken cancellationToken = default)
    {
        if (!options.Value.IncludeEnvironment)
        {
            return ValueTask.FromResult<string?>(null);
        }

        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        if (Volatile.Read(ref _built) is { } built && built.Date == today && time.GetElapsedTime(built.At) < Refresh)
        {
            return ValueTask.FromResult<string?>(built.Section);
        }

        string directory = SystemPromptPaths.WorkingDirectory(options.Value);

        var text = new StringBuilder()
            .AppendLine("Facts about the environment you are running in:")
            .AppendLine(CultureInfo.InvariantCulture, $"- Working directory: {directory}")
            .AppendLine(CultureInfo.InvariantCulture, $"- Inside a git repository: {(SystemPromptPaths.IsInGitRepository(directory) ? "yes" : "no")}")
            .AppendLine(CultureInfo.InvariantCulture, $"- Platform: {RuntimeInformation.OSDescription.Trim()} ({RuntimeInformation.OSArchitecture})")
            .Append(CultureInfo.InvariantCulture, $"- Today's date: {today:yyyy-MM-dd} (UTC)");
        string section = text.ToString();
        Volatile.Write(ref _built, new Built(today, time.GetTimestamp(), section));
        return ValueTask.FromResult<string?>(section);
    }

    private sealed record Built(DateOnly Date, long At, string Section);
}

/// <summary>
/// Context files (<c>AGENTS.md</c> by default) from the working directory and each folder above it up to the project
/// root (see <see cref="SystemPromptPaths.ProjectRoot"/>), outermost first so the nearest, most specific instructions
/// come last. Each file is read up to 64 KiB.
/// </summary>
internal sealed partial class ContextFileSystemPromptProvider(IOptions<AgentCoreOptions> options, ILogger<ContextFileSystemPromptProvider>? logger = null)
    : ISystemPromptProvider
{
    private const int MaxFileBytes = 64 * 1024;
    private readonly ILogger _logger = logger ?? NullLogger<ContextFileSystemPromptProvider>.Instance;

    public async ValueTask<string?> GetSectionAsync(SystemPromptContext context, CancellationToken cancellationToken = default)
    {
        if (!options.Value.IncludeContextFiles || options.Value.ContextFileNames.Count == 0)
        {
            return null;
        }

        var found = new List<string>();
        string workingDirectory = SystemPromptPaths.WorkingDirectory(options.Value);
        string root = SystemPromptPaths.ProjectRoot(workingDirectory);
        for (var directory = new DirectoryInfo(workingDirectory); directory is not null; directory = directory.Parent)
        {
            foreach (string name in options.Value.ContextFileNames)
            {
                string path = Path.Combine(directory.FullName, name);
                if (File.Exists(path))
                {
                    found.Add(path);
                }
            }

            if (SystemPromptPaths.SamePath(directory.FullName, root))
            {
                break; // Nothing above the project root is read.
            }
        }

        if (found.Count == 0)
        {
            return null;
        }

        found.Reverse();
        var text = new StringBuilder("Instructions from the project's context files (the later ones are more specific):");
        foreach (string path in found)
        {
            string? content = await ReadAsync(path, cancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrWhiteSpace(content))
            {
                text.Append("\n\n<context-file path=\"").Append(path).Append("\">\n").Append(content.Trim()).Append("\n</context-file>");
            }
        }

        return text.ToString();
    }

    private async Task<string?> ReadAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 4096, useAsync: true);
            await using var streamScope = stream.ConfigureAwait(false);
            byte[] buffer = new byte[Math.Min(stream.Length, MaxFileBytes)];
            int read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            return Encoding.UTF8.GetString(buffer, 0, read);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogUnreadable(path, ex.GetType().Name);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Context file {Path} could not be read ({Error}); it is left out of the system prompt")]
    private partial void LogUnreadable(string path, string error);
}

internal static class SystemPromptPaths
{
    public static string WorkingDirectory(AgentCoreOptions options) =>
        Path.GetFullPath(string.IsNullOrWhiteSpace(options.WorkingDirectory) ? Environment.CurrentDirectory : options.WorkingDirectory);

    public static bool IsInGitRepository(string directory) => GitRoot(directory) is not null;

    /// <summary>
    /// The folder context files are read up to: the git root (the nearest folder upward holding <c>.git</c>, a folder or
    /// a worktree's file), else <paramref name="directory"/> itself.
    /// </summary>
    public static string ProjectRoot(string directory) => GitRoot(directory) ?? Path.GetFullPath(directory);

    public static bool SamePath(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(b),
            OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    private static string? GitRoot(string directory)
    {
        for (var current = new DirectoryInfo(directory); current is not null; current = current.Parent)
        {
            string git = Path.Combine(current.FullName, ".git");
            if (Directory.Exists(git) || File.Exists(git))
            {
                return current.FullName;
            }
        }

        return null;
    }
}
