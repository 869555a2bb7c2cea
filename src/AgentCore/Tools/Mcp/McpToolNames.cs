using System.Security.Cryptography;
using System.Text;

namespace AgentCore;

/// <summary>
/// The names MCP tools get in front of the model: <c>&lt;server&gt;_&lt;tool&gt;</c>, made to match
/// <c>^[A-Za-z0-9_-]{1,64}$</c>.
/// </summary>
/// <remarks>
/// Every character outside the allowed set becomes <c>_</c>. A name longer than 64 characters keeps its first 55
/// and ends with <c>_</c> + 8 hex digits of the SHA-256 of the original server and tool names, so it stays the same
/// from run to run. When two tools still end up with the same name, the tools are taken in order (server name, then
/// tool name, ordinal) and every one after the first gets the hash suffix too; the outcome depends only on the set of tools.
/// </remarks>
internal static class McpToolNames
{
    private const int MaxLength = 64;
    private const int HashLength = 8;

    /// <summary>Names for <paramref name="tools"/> (server name, tool name), in the same order. Deterministic for a given set.</summary>
    public static string[] Assign(IReadOnlyList<(string Server, string Tool)> tools)
    {
        var order = Enumerable.Range(0, tools.Count)
            .OrderBy(i => tools[i].Server, StringComparer.Ordinal)
            .ThenBy(i => tools[i].Tool, StringComparer.Ordinal)
            .ToArray();

        var names = new string[tools.Count];
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (int i in order)
        {
            var (server, tool) = tools[i];
            string name = Candidate(server, tool);
            for (int attempt = 1; !taken.Add(name); attempt++)
            {
                name = WithHash(Sanitize(server + "_" + tool), server, tool, attempt);
            }

            names[i] = name;
        }

        return names;
    }

    /// <summary>The name of one tool when nothing collides with it.</summary>
    public static string Candidate(string server, string tool)
    {
        string name = Sanitize(server + "_" + tool);
        return name.Length <= MaxLength ? name : WithHash(name, server, tool, 0);
    }

    /// <summary>Replaces every character outside <c>[A-Za-z0-9_-]</c> with <c>_</c>.</summary>
    public static string Sanitize(string value) =>
        string.Create(value.Length, value, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                char c = source[i];
                span[i] = char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '_';
            }
        });

    private static string WithHash(string sanitized, string server, string tool, int attempt)
    {
        string identity = server + "\0" + tool + (attempt == 0 ? "" : "\0" + attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..HashLength];
        int keep = Math.Min(sanitized.Length, MaxLength - HashLength - 1);
        return sanitized[..keep] + "_" + hash;
    }
}
