using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using AgentCore.Testing;

namespace AgentCore.Storage.Worker;

/// <summary>
/// The worker's <c>approval</c> command: AgentCore on the store with a <c>delete_file</c> tool that needs approval, driven
/// by lines on stdin:
/// <list type="bullet">
/// <item><c>ask &lt;path&gt;</c>: a turn whose model calls <c>delete_file(path)</c> (call id <c>call_&lt;path&gt;</c>); prints
/// <c>completed &lt;exit reason&gt; pending &lt;call ids&gt;</c>.</item>
/// <item><c>approve &lt;reason&gt;</c> / <c>reject &lt;reason&gt;</c>: answers every call the store says is waiting; the model
/// answers <c>finished</c>. Prints <c>tool ran &lt;path&gt;</c> when the tool runs, <c>result &lt;what the model saw&gt;</c>
/// and <c>completed &lt;exit reason&gt; &lt;text&gt;</c>, or <c>failed &lt;exception type&gt;: &lt;message&gt;</c>.</item>
/// <item><c>quit</c> (or the end of stdin): exits 0.</item>
/// </list>
/// </summary>
internal static class ApprovalCommand
{
    public static async Task<int> RunAsync(string backend, string target, string sessionId, string dataDirectory)
    {
        ScriptedResponse next = new();
        var client = new ScriptedChatClient(call =>
        {
            foreach (var result in call.Messages.SelectMany(static m => m.Contents).OfType<FunctionResultContent>())
            {
                Console.WriteLine($"result {result.Result}");
            }

            return next;
        });
        var services = new ServiceCollection();
        var builder = WorkerAgentCore.Add(services, backend, target, dataDirectory, client);
        builder.AddTool(new ApprovalRequiredAIFunction(AIFunctionFactory.Create((string path) =>
        {
            Console.WriteLine($"tool ran {path}");
            return $"deleted {path}";
        }, "delete_file")));
        await using var provider = services.BuildServiceProvider();
        var sessions = provider.GetRequiredService<ISessionService>();

        Console.WriteLine("ready");
        while (await Console.In.ReadLineAsync() is { } line)
        {
            string[] words = line.Split(' ', 2);
            string argument = words.Length > 1 ? words[1] : "";
            try
            {
                switch (words[0])
                {
                    case "ask":
                        next = new ScriptedResponse().ToolCall($"call_{argument}", "delete_file", new { path = argument }).Usage(10, 5);
                        var asked = await WorkerAgentCore.TurnAsync(sessions, new ChatRequest { SessionId = sessionId, Text = $"delete {argument}" });
                        var pending = await sessions.GetPendingApprovalsAsync(sessionId);
                        Console.WriteLine($"completed {asked.ExitReason} pending {string.Join(",", pending.Select(static p => p.RequestId))}");
                        break;
                    case "approve" or "reject":
                        next = new ScriptedResponse().Text("finished").Usage(20, 2);
                        var requests = await sessions.GetPendingApprovalsAsync(sessionId);
                        var answered = await WorkerAgentCore.TurnAsync(sessions, new ChatRequest
                        {
                            SessionId = sessionId,
                            Contents = [.. requests.Select(r => (AIContent)r.CreateResponse(words[0] == "approve", argument))],
                        });
                        Console.WriteLine($"completed {answered.ExitReason} {answered.Message.Text}");
                        break;
                    case "quit":
                        return 0;
                    default:
                        Console.WriteLine($"unknown command {words[0]}");
                        break;
                }
            }
            catch (Exception ex)
            {
                Console.WriteLine($"failed {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}");
            }
        }

        return 0;
    }
}
