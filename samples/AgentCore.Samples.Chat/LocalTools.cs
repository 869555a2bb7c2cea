using Microsoft.Extensions.AI;

namespace AgentCore.Samples.Chat;

/// <summary>
/// The sample's local tools: <c>get_time</c> reads the clock and nothing else; <c>save_note</c> writes to a file, so it
/// asks you first (it is an <see cref="ApprovalRequiredAIFunction"/>).
/// </summary>
internal static class LocalTools
{
    public const string GetTimeName = "get_time";

    public const string SaveNoteName = "save_note";

    /// <summary>Appends a note to <c>notes.txt</c> in <paramref name="directory"/>; every call waits for your approval.</summary>
    public static AIFunction SaveNote(string directory) => new ApprovalRequiredAIFunction(AIFunctionFactory.Create(
        (string text) =>
        {
            Directory.CreateDirectory(directory);
            string path = Path.Combine(directory, "notes.txt");
            File.AppendAllText(path, text + Environment.NewLine);
            return $"saved the note to {path}";
        },
        SaveNoteName,
        "Saves a note for the user, in notes.txt in the sample's data folder."));

    public static AIFunction GetTime(TimeProvider time) => AIFunctionFactory.Create(
        () =>
        {
            var now = time.GetLocalNow();
            return $"{now:yyyy-MM-dd HH:mm:ss} (UTC{now:zzz}, time zone {time.LocalTimeZone.Id})";
        },
        GetTimeName,
        "Returns the current local date and time of the user's computer, with its UTC offset and time zone.");
}
