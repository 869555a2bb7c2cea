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
