using AgentCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCore.Storage.Worker;

/// <summary>What the worker's <c>chat</c> and <c>approval</c> commands share: AgentCore on the backend, a scripted model, one turn.</summary>
internal static class WorkerAgentCore
{
    /// <summary>The scripted model: a 100 000-token window, 1 USD per million input tokens and 2 per million output.</summary>
    public static readonly ModelInfo Model = new("scripted", "model", contextWindow: 100_000, maxOutputTokens: 4_000, new ModelPricing(1m, 2m, 0m, 0m));

    /// <summary>
    /// AgentCore with <paramref name="client"/> as <see cref="Model"/>, on the backend: <c>file</c> (the defaults: the file
    /// store in <paramref name="dataDirectory"/> and its cross-process lock), <c>sqlite</c>, <c>postgres</c> or <c>postgres-events</c> (events across instances too) on <paramref name="target"/>.
    /// </summary>
    public static IAgentCoreBuilder Add(IServiceCollection services, string backend, string target, string dataDirectory, IChatClient client)
    {
        var builder = services.AddAgentCore(o =>
        {
            o.DataDirectory = dataDirectory;
            o.DefaultModel = Model.Reference;
            o.GenerateTitles = false;
            o.IncludeContextFiles = false;
        });
        builder.AddChatClient(Model.ProviderId, client, [Model]);
        switch (backend)
        {
            case "file":
                break;
            case "sqlite":
                builder.UseSqlite(target, o => o.AbortPollInterval = TimeSpan.FromMilliseconds(20));
                break;
            case "postgres-events":
                builder.UsePostgreSql(target, o => o.UseEvents = true);
                break;
            default:
                builder.UsePostgreSql(target);
                break;
        }

        return builder;
    }

    /// <summary>Runs one turn to the end of its event stream (the session's lock is free again by then) and returns its last event.</summary>
    public static async Task<TurnCompleted> TurnAsync(ISessionService sessions, ChatRequest request)
    {
        TurnCompleted? completed = null;
        await foreach (var sessionEvent in sessions.ChatStreamingAsync(request))
        {
            completed = sessionEvent as TurnCompleted ?? completed;
        }

        return completed!;
    }
}
