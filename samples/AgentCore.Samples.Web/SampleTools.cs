using System.Globalization;
using Microsoft.Extensions.AI;

namespace AgentCore.Samples.Web;

/// <summary>The local tool the model may call: a plain .NET method turned into an <see cref="AIFunction"/>.</summary>
internal static class SampleTools
{
    public const string CurrentTimeName = "current_time";

    public static AIFunction CurrentTime(TimeProvider time) => AIFunctionFactory.Create(
        () => time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        CurrentTimeName,
        "Returns the current date and time in UTC, in ISO 8601.");
}
