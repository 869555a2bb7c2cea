namespace AgentCore;

/// <summary>A matched word in a <see cref="SearchSnippet"/>: where it starts in <see cref="SearchSnippet.Text"/> and how long it is (UTF-16 code units).</summary>
/// <param name="Start">The index of the word's first character in the snippet's text.</param>
/// <param name="Length">The word's length.</param>
public readonly record struct SearchHighlight(int Start, int Length);
