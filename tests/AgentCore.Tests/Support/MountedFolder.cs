using System.Diagnostics;

namespace AgentCore.Tests.Support;

/// <summary>
/// A folder on a file system the test controls: a read-only bind mount of another folder, or a small tmpfs that fills up.
/// Needs root and mount(8) (as on the CI machines); <see cref="TryReadOnly"/> and <see cref="TryTmpfs"/> return null with
/// the reason where mounting is not possible, so the test can skip saying why.
/// </summary>
internal sealed class MountedFolder : IDisposable
{
    private MountedFolder(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Mounts <paramref name="source"/> read-only at <paramref name="target"/> (a bind mount remounted ro).</summary>
    public static MountedFolder? TryReadOnly(string source, string target, out string? whyNot)
    {
        Directory.CreateDirectory(target);
        if (!Run(out whyNot, "mount", "--bind", source, target))
        {
            return null;
        }

        var mounted = new MountedFolder(target);
        if (!Run(out whyNot, "mount", "-o", "remount,ro,bind", target))
        {
            mounted.Dispose();
            return null;
        }

        return mounted;
    }

    /// <summary>Mounts a tmpfs of <paramref name="size"/> (mount's syntax: <c>1m</c>) at <paramref name="target"/>.</summary>
    public static MountedFolder? TryTmpfs(string target, string size, out string? whyNot)
    {
        Directory.CreateDirectory(target);
        return Run(out whyNot, "mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", target) ? new MountedFolder(target) : null;
    }

    public void Dispose() => Run(out _, "umount", Path);

    private static bool Run(out string? whyNot, string file, params string[] arguments)
    {
        if (!OperatingSystem.IsLinux())
        {
            whyNot = "mounting file systems in a test needs Linux";
            return false;
        }

        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start)!;
            string error = process.StandardError.ReadToEnd();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            whyNot = process.ExitCode == 0 ? null : $"'{file} {string.Join(' ', arguments)}' failed ({process.ExitCode}): {error.Trim()} (needs root)";
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            whyNot = $"'{file}' could not be started: {ex.Message}";
            return false;
        }
    }
}
