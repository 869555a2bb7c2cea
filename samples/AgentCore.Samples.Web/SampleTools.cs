using System.Globalization;
using Microsoft.Extensions.AI;

namespace AgentCore.Samples.Web;

/// <summary>
/// The local tools the model may call: plain .NET methods turned into <see cref="AIFunction"/>s. <c>save_note</c> is an
/// <see cref="ApprovalRequiredAIFunction"/>: each call waits for the Approve or Deny button.
/// </summary>
internal static class SampleTools
{
    public const string CurrentTimeName = "current_time";

    public const string SaveNoteName = "save_note";

    /// <summary>Pretends to save a note (it keeps nothing); every call needs the user's approval first.</summary>
    public static AIFunction SaveNote() => new ApprovalRequiredAIFunction(AIFunctionFactory.Create(
        (string text) => $"saved the note \"{text}\"",
        SaveNoteName,
        "Saves a note for the user."));

    public static AIFunction CurrentTime(TimeProvider time) => AIFunctionFactory.Create(
        () => time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        CurrentTimeName,
        "Returns the current date and time in UTC, in ISO 8601.");
}
