using Microsoft.Extensions.AI;

namespace AgentCore.Tests.Tools;

/// <summary>The registry merges again only when a source returns a different list (the turn then advertises the new tools).</summary>
public sealed class ToolRegistryMergeTests
{
    private static readonly ToolContext Context = new(AgentCoreIds.NewSessionId(), "test", "model-1");

    private static AIFunction Echo(string name) => AIFunctionFactory.Create((string text) => text, name, "Repeats the text.");

    [Test]
    public async Task GetToolsAsync_SourcesReturnTheSameLists_SameMergedList()
    {
        var source = new ChangingSource([Echo("one")]);
        var registry = new ToolRegistry([source, new ChangingSource([Echo("two")])]);

        var first = await registry.GetToolsAsync(Context);
        var second = await registry.GetToolsAsync(Context);

        second.Should().BeSameAs(first);
        second.Select(static t => t.Name).Should().Equal("one", "two");
    }

    [Test]
    public async Task GetToolsAsync_SourceReturnsANewList_MergedAgain()
    {
        var source = new ChangingSource([Echo("one")]);
        var registry = new ToolRegistry([source]);
        var first = await registry.GetToolsAsync(Context);

        source.Tools = [Echo("one"), Echo("added")];
        var second = await registry.GetToolsAsync(Context);

        first.Select(static t => t.Name).Should().Equal("one");
        second.Select(static t => t.Name).Should().Equal("one", "added");
    }

    [Test]
    public async Task GetToolsAsync_SourceGrewItsListInPlace_MergedAgain()
    {
        var tools = new List<AIFunction> { Echo("one") };
        var registry = new ToolRegistry([new ChangingSource(tools)]);
        await registry.GetToolsAsync(Context);

        tools.Add(Echo("added"));
        var second = await registry.GetToolsAsync(Context);

        second.Select(static t => t.Name).Should().Equal("one", "added");
    }

    [Test]
    public async Task GetToolsAsync_SourceReplacedAToolInPlace_MergedAgain()
    {
        var tools = new List<AIFunction> { Echo("one") };
        var registry = new ToolRegistry([new ChangingSource(tools)]);
        await registry.GetToolsAsync(Context);

        tools[0] = Echo("replacement");
        var second = await registry.GetToolsAsync(Context);

        second.Select(static t => t.Name).Should().Equal("replacement");
    }

    [Test]
    public async Task GetToolsAsync_SourceAnswersLater_ToolsOfEverySource()
    {
        var later = new TaskCompletionSource<IReadOnlyList<AIFunction>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var registry = new ToolRegistry([new ChangingSource([Echo("now")]), new DelayedSource(later.Task)]);

        var pending = registry.GetToolsAsync(Context).AsTask();
        later.SetResult([Echo("later")]);

        (await pending).Select(static t => t.Name).Should().Equal("now", "later");
    }

    private sealed class ChangingSource(IReadOnlyList<AIFunction> tools) : IToolSource
    {
        public IReadOnlyList<AIFunction> Tools { get; set; } = tools;

        public string Name => "changing";

        public ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Tools);
    }

    private sealed class DelayedSource(Task<IReadOnlyList<AIFunction>> tools) : IToolSource
    {
        public string Name => "delayed";

        public ValueTask<IReadOnlyList<AIFunction>> GetToolsAsync(ToolContext context, CancellationToken cancellationToken = default) =>
            new(tools);
    }
}
