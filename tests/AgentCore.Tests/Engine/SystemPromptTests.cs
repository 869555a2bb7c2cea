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
}
