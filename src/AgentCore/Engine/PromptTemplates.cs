using System.Collections.Concurrent;

namespace AgentCore;

/// <summary>The prompts AgentCore ships, embedded as <c>Engine/Prompts/*.txt</c>.</summary>
internal static class PromptTemplates
{
    private static readonly ConcurrentDictionary<string, string> Cache = new(StringComparer.Ordinal);

    /// <summary>The default base system prompt.</summary>
    public static string System => Load("system.txt");

    /// <summary>Reads an embedded prompt by file name.</summary>
    public static string Load(string fileName) => Cache.GetOrAdd(fileName, static name =>
    {
        var assembly = typeof(PromptTemplates).Assembly;
        string resource = "AgentCore.Engine.Prompts." + name;
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The embedded prompt '{resource}' is missing from {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Trim();
    });
}
