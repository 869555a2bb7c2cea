using System.Text.Json;

namespace AgentCore;

/// <summary>A tool call the model requested, and its result.</summary>
public sealed class ToolPart : MessagePart
{
    /// <summary>The provider's id for the call, echoed in the result.</summary>
    public required string CallId { get; set; }

    /// <summary>The name of the tool the model called.</summary>
    public required string ToolName { get; set; }

    /// <summary>The arguments the model sent, as a JSON object (null when it sent none or they did not parse).</summary>
    public JsonElement? Arguments { get; set; }

    /// <summary>The raw argument text when the model's arguments were not valid JSON.</summary>
    public string? RawArguments { get; set; }

    /// <summary>Where the call is.</summary>
    public ToolState State { get; set; }

    /// <summary>The result text the model sees, once <see cref="ToolState.Completed"/>.</summary>
    public string? Output { get; set; }

    /// <summary>Binary results (images, audio) the tool returned beside its text.</summary>
    public List<FilePart>? Attachments { get; set; }

    /// <summary>
    /// Metadata the tool returned with its result, for the app (the model does not see it): the
    /// <see cref="Microsoft.Extensions.AI.AIContent.AdditionalProperties"/> of the contents it returned, merged in order.
    /// </summary>
    public Dictionary<string, JsonElement>? Metadata { get; set; }

    /// <summary>The error, once <see cref="ToolState.Error"/>.</summary>
    public string? Error { get; set; }

    /// <summary>How a person answered the call, when it needed approval; null when it needed none or is still waiting.</summary>
    public ToolApprovalDecision? Approval { get; set; }

    /// <summary>When the tool started (UTC).</summary>
    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>When the tool ended (UTC).</summary>
    public DateTimeOffset? EndedAt { get; set; }

    /// <summary>
    /// Whether the output was pruned from prompts to save context. The stored <see cref="Output"/> is kept;
    /// prompts carry a short placeholder instead.
    /// </summary>
    public bool Compacted { get; set; }
}
