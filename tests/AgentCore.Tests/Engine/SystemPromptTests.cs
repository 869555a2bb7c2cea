using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

public sealed class SystemPromptTests
{
    private sealed class TeamRulesProvider : ISystemPromptProvider
    {
        public ValueTask<string?> GetSectionAsync(SystemPromptContext context, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<string?>($"Team rules for {context.Model.Reference}.");
    }

    [Test]
    public async Task ChatStreamingAsync_Defaults_SystemPromptHasBaseEnvironmentAndContextFilesInOrder()
    {
        string root = Directory.CreateTempSubdirectory("agentcore-prompt-").FullName;
        try
        {
            string project = Directory.CreateDirectory(Path.Combine(root, "project", "src")).FullName;
            Directory.CreateDirectory(Path.Combine(root, ".git")); // the project root: context files are read up to it
            await File.WriteAllTextAsync(Path.Combine(root, "AGENTS.md"), "Outer rule.");
            await File.WriteAllTextAsync(Path.Combine(root, "project", "src", "AGENTS.md"), "Inner rule.");
            await using var h = new EngineHarness(o => { o.SystemPrompt = "Base prompt."; o.WorkingDirectory = project; o.IncludeEnvironment = true; o.IncludeContextFiles = true; }, b => b.AddSystemPromptProvider<TeamRulesProvider>());
            h.Client.Enqueue(r => r.Text("ok"));
            var session = await h.Sessions.CreateAsync();

            await h.ChatAsync(session.Id, "hi");

            var system = h.Client.Calls[0].Messages[0];
            system.Role.Should().Be(ChatRole.System);
            var sections = system.Contents.OfType<TextContent>().Select(c => c.Text).ToList();
            sections.Should().HaveCount(4);
            sections[0].Should().Be("Base prompt.");
            sections[1].Should().Contain($"Working directory: {project}").And.Contain("Today's date: 2026-01-01");
            sections[2].Should().ContainAll("Outer rule.", "Inner rule.");
            sections[2].IndexOf("Outer rule.", StringComparison.Ordinal).Should().BeLessThan(sections[2].IndexOf("Inner rule.", StringComparison.Ordinal));
            sections[3].Should().Be("Team rules for test/model-1.");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public async Task ChatStreamingAsync_EnvironmentAndContextFilesOff_OnlyBasePrompt()
    {
        await using var h = new EngineHarness(o => { o.IncludeEnvironment = false; o.IncludeContextFiles = false; });
        h.Client.Enqueue(r => r.Text("ok"));
        var session = await h.Sessions.CreateAsync();

        await h.ChatAsync(session.Id, "hi");

        var sections = h.Client.Calls[0].Messages[0].Contents.OfType<TextContent>().Select(c => c.Text).ToList();
        sections.Should().ContainSingle().Which.Should().Be(PromptTemplates.System);
    }

    /// <summary>The environment section is reused within its refresh time and for the same day, then looked up again.</summary>
    [Test]
    public async Task EnvironmentSection_RepositoryCreatedMeanwhile_ShownAfterTheRefreshTime()
    {
        string root = Directory.CreateTempSubdirectory("agentcore-env-").FullName;
        try
        {
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
            var provider = new EnvironmentSystemPromptProvider(
                Microsoft.Extensions.Options.Options.Create(new AgentCoreOptions { WorkingDirectory = root, IncludeEnvironment = true }), time);
            var context = new SystemPromptContext(new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = time.GetUtcNow(), UpdatedAt = time.GetUtcNow() }, new ModelInfo("p", "m", 1_000, 100));

            (await provider.GetSectionAsync(context)).Should().Contain("Inside a git repository: no");
            Directory.CreateDirectory(Path.Combine(root, ".git"));
            (await provider.GetSectionAsync(context)).Should().Contain("Inside a git repository: no", "the section is reused within its refresh time");

            time.Advance(EnvironmentSystemPromptProvider.Refresh);
            (await provider.GetSectionAsync(context)).Should().Contain("Inside a git repository: yes");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
