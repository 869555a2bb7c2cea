using Microsoft.Extensions.AI;

namespace AgentCore.Samples.Chat;

/// <summary>The sample's local tool: safe to call anywhere, it reads the clock and nothing else.</summary>
internal static class LocalTools
{
    public const string GetTimeName = "get_time";

    public static AIFunction GetTime(TimeProvider time) => AIFunctionFactory.Create(
        () =>
        {
            var now = time.GetLocalNow();
            return $"{now:yyyy-MM-dd HH:mm:ss} (UTC{now:zzz}, time zone {time.LocalTimeZone.Id})";
        },
        GetTimeName,
        "Returns the current local date and time of the user's computer, with its UTC offset and time zone.");
}
