namespace AgentCore.Samples.Web;

/// <summary>The sample's own log messages.</summary>
internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Chat model: {Model} (offline demo: {Offline})")]
    public static partial void LogChatModel(this ILogger logger, string model, bool offline);
}
