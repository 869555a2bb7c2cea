using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentCore;

/// <summary>
/// A piece of a <see cref="SessionMessage"/>. Stored with a <c>type</c> discriminator:
/// <c>text</c>, <c>reasoning</c>, <c>file</c>, <c>tool</c>, <c>step-start</c>, <c>step-finish</c>.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(TextPart), "text")]
[JsonDerivedType(typeof(ReasoningPart), "reasoning")]
[JsonDerivedType(typeof(FilePart), "file")]
[JsonDerivedType(typeof(ToolPart), "tool")]
[JsonDerivedType(typeof(StepStartPart), "step-start")]
[JsonDerivedType(typeof(StepFinishPart), "step-finish")]
public abstract class MessagePart
{
    private protected MessagePart() { }

    /// <summary>The part id, <c>prt_</c> followed by a time-sortable suffix.</summary>
    public required string Id { get; set; }
}

/// <summary>Text written by the user or the model.</summary>
public sealed class TextPart : MessagePart
{
    /// <summary>The text.</summary>
    public string Text { get; set; } = "";
}

/// <summary>Reasoning ("thinking") text the model streamed before or between its answers.</summary>
public sealed class ReasoningPart : MessagePart
{
    /// <summary>The reasoning text.</summary>
    public string Text { get; set; } = "";
}

/// <summary>A file or binary payload (image, audio, document), inline or by URI.</summary>
public sealed class FilePart : MessagePart
{
    /// <summary>The IANA media type, for example <c>image/png</c>.</summary>
    public required string MediaType { get; set; }

    /// <summary>The file name, when known.</summary>
    public string? Name { get; set; }

    /// <summary>The content, when inline.</summary>
    public byte[]? Data { get; set; }

    /// <summary>Where the content lives, when not inline.</summary>
    public string? Uri { get; set; }
}

/// <summary>The state of a <see cref="ToolPart"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ToolState>))]
public enum ToolState
{
    /// <summary>The model asked for the call; it has not started.</summary>
    Pending = 0,
    /// <summary>The tool is running.</summary>
    Running,
    /// <summary>The tool returned; <see cref="ToolPart.Output"/> holds its result.</summary>
    Completed,
    /// <summary>The call failed; <see cref="ToolPart.Error"/> says why. The model sees the error as the result.</summary>
    Error,
    /// <summary>
    /// The call needs a person's approval and has not run; the turn ended with <see cref="ExitReason.AwaitingApproval"/>.
    /// Answer it with a <see cref="Microsoft.Extensions.AI.ToolApprovalResponseContent"/> in <see cref="ChatRequest.Contents"/>.
    /// </summary>
    AwaitingApproval,
}

/// <summary>How a person answered a tool call that needed approval (see <see cref="ToolState.AwaitingApproval"/>).</summary>
public sealed class ToolApprovalDecision
{
    /// <summary>Whether the call was approved (it ran) or rejected (the model was told it was not run, and why).</summary>
    public bool Approved { get; set; }

    /// <summary>The reason given with the answer, if any; for a rejection the model sees it.</summary>
    public string? Reason { get; set; }

    /// <summary>When the answer was applied (UTC).</summary>
    public DateTimeOffset AnsweredAt { get; set; }
}

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

/// <summary>Marks the start of a model call (a step) within an assistant message.</summary>
public sealed class StepStartPart : MessagePart
{
    /// <summary>When the step started (UTC).</summary>
    public DateTimeOffset StartedAt { get; set; }
}

/// <summary>Marks the end of a step, with its usage and cost.</summary>
public sealed class StepFinishPart : MessagePart
{
    /// <summary>The tokens the step used.</summary>
    public TokenUsage Tokens { get; set; }

    /// <summary>The cost of the step in USD.</summary>
    public decimal Cost { get; set; }

    /// <summary>Why the model stopped the step (<c>stop</c>, <c>tool_calls</c>, <c>length</c>, ...; <c>aborted</c> when the turn's abort cut it off).</summary>
    public string? FinishReason { get; set; }

    /// <summary>When the step ended (UTC).</summary>
    public DateTimeOffset EndedAt { get; set; }
}
