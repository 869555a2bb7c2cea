using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCore;

/// <summary>
/// Offers one <see cref="SubAgentDefinition"/> as a tool bound to the calling session (<see cref="ToolContext.SessionId"/>),
/// while that session has fewer sub-agent ancestors than <see cref="SubAgentDefinition.MaxDepth"/>.
/// </summary>
/// <remarks>
/// The session service is resolved when the tool runs, not when the source is built: the service depends on the tool
/// registry, which depends on this source.
/// </remarks>
internal sealed class SubAgentToolSource(SubAgentDefinition agent, IServiceProvider services) : IToolSource
{
    public string Name => "subagent:" + agent.Name;

    public async ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var store = services.GetRequiredService<ISessionStore>();
        int depth = 0;
        string? id = context.SessionId;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (id is not null && seen.Add(id) && await store.GetSessionAsync(id, cancellationToken).ConfigureAwait(false) is { } session
               && session.Metadata.ContainsKey(ChildSessionExtensions.SubAgentMetadataKey))
        {
            if (++depth >= agent.MaxDepth)
            {
                return [];
            }

            id = session.ParentId;
        }

        return [new SubAgentFunction(agent, context.SessionId, services)];
    }

    /// <summary>The tool of one calling session: each call runs a turn in a new child session and returns its reply.</summary>
    private sealed class SubAgentFunction(SubAgentDefinition agent, string parentId, IServiceProvider services) : AIFunction
    {
        private static readonly JsonElement Schema = JsonDocument.Parse("""
            {
              "type": "object",
              "properties": {
                "prompt": { "type": "string", "description": "The task for the sub-agent, with everything it needs to know: it does not see this conversation." }
              },
              "required": ["prompt"]
            }
            """).RootElement.Clone();

        public override string Name => agent.Name;

        public override string Description => agent.Description;

        public override JsonElement JsonSchema => Schema;

        protected override async ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
        {
            string prompt = arguments.TryGetValue("prompt", out object? value) ? value switch
            {
                string text => text,
                JsonElement { ValueKind: JsonValueKind.String } element => element.GetString()!,
                _ => "",
            } : "";
            if (string.IsNullOrWhiteSpace(prompt))
            {
                throw new ToolException($"'{agent.Name}' needs a non-empty 'prompt' string: the task for the sub-agent.");
            }

            var sessions = services.GetRequiredService<ISessionService>();
            var child = await sessions.CreateChildAsync(parentId, agent.Name, $"{agent.Name} (sub-agent)", cancellationToken).ConfigureAwait(false);
            var request = new ChatRequest
            {
                SessionId = child.Id,
                Text = prompt,
                Model = agent.Model,
                Budget = agent.Budget,
                Options = agent.Instructions is null ? null : new ChatOptions { Instructions = agent.Instructions },
            };

            // The parent turn's token: Abort or cancellation of the parent ends the child's turn too.
            TurnCompleted? completed = null;
            await foreach (var sessionEvent in sessions.ChatStreamingAsync(request, cancellationToken).ConfigureAwait(false))
            {
                if (sessionEvent is TurnCompleted turn)
                {
                    completed = turn;
                }
            }

            if (completed is null)
            {
                throw new ToolException($"The sub-agent '{agent.Name}' ended without a reply (session {child.Id}).");
            }

            if (completed.ExitReason != ExitReason.Completed)
            {
                string detail = completed.Message.Error?.Message ?? completed.ExitReason.Value;
                throw new ToolException($"The sub-agent '{agent.Name}' stopped ({completed.ExitReason.Value}) in session {child.Id}: {detail}");
            }

            return new TextContent(completed.Message.Text)
            {
                AdditionalProperties = new AdditionalPropertiesDictionary { [ChildSessionExtensions.ChildSessionIdMetadataKey] = child.Id },
            };
        }
    }
}
