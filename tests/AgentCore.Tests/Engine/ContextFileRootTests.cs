using AgentCore.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCore.Tests.Engine;

/// <summary>Context files are read from the working directory up to the project root (the git root, else the working directory), never above.</summary>
public sealed class ContextFileRootTests
{
    private TempDirectory _temp = null!;

    [SetUp]
    public void SetUp() => _temp = new TempDirectory();

    [TearDown]
    public void TearDown() => _temp.Dispose();

    private async Task<string?> ContextSectionAsync(string workingDirectory)
    {
        await using var provider = new ServiceCollection()
            .AddAgentCore(o =>
            {
                o.DataDirectory = _temp.Combine("data");
                o.WorkingDirectory = workingDirectory;
            })
            .Services.BuildServiceProvider();
        var contextFiles = provider.GetServices<ISystemPromptProvider>().OfType<ContextFileSystemPromptProvider>().Single();
        var session = new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch };
        return await contextFiles.GetSectionAsync(new SystemPromptContext(session, new ModelInfo("test", "model-1", 100_000, 4_000)));
    }

    [Test]
    public async Task GetSectionAsync_WebServerTwoFoldersBelowAnAgentsMdAndNoGit_ReadsNothingAboveItsWorkingDirectory()
    {
        File.WriteAllText(_temp.Combine("AGENTS.md"), "Rules of some other project.");
        string server = Directory.CreateDirectory(_temp.Combine("sites", "web")).FullName;

        var section = await ContextSectionAsync(server);

        section.Should().BeNull("with no git repository the working directory is the project root");
    }

    [Test]
    public async Task GetSectionAsync_AgentsMdInTheWorkingDirectoryAndNoGit_ReadsIt()
    {
        File.WriteAllText(_temp.Combine("AGENTS.md"), "Rules of some other project.");
        string server = Directory.CreateDirectory(_temp.Combine("sites", "web")).FullName;
        File.WriteAllText(Path.Combine(server, "AGENTS.md"), "Rules of the web server.");

        var section = await ContextSectionAsync(server);

        section.Should().Contain("Rules of the web server.").And.NotContain("some other project");
    }

    [Test]
    public async Task GetSectionAsync_InsideAGitRepository_ReadsUpToTheGitRootAndNotAbove()
    {
        File.WriteAllText(_temp.Combine("AGENTS.md"), "Above the repository.");
        string repo = Directory.CreateDirectory(_temp.Combine("repo")).FullName;
        Directory.CreateDirectory(Path.Combine(repo, ".git"));
        File.WriteAllText(Path.Combine(repo, "AGENTS.md"), "Repository rules.");
        string src = Directory.CreateDirectory(Path.Combine(repo, "src", "app")).FullName;

        var section = await ContextSectionAsync(src);

        section.Should().Contain("Repository rules.").And.NotContain("Above the repository.");
    }

    [Test]
    public async Task GetSectionAsync_GitWorktreeFile_CountsAsTheRoot()
    {
        File.WriteAllText(_temp.Combine("AGENTS.md"), "Above the worktree.");
        string worktree = Directory.CreateDirectory(_temp.Combine("wt")).FullName;
        File.WriteAllText(Path.Combine(worktree, ".git"), "gitdir: /elsewhere/.git/worktrees/wt");
        File.WriteAllText(Path.Combine(worktree, "AGENTS.md"), "Worktree rules.");

        var section = await ContextSectionAsync(Directory.CreateDirectory(Path.Combine(worktree, "lib")).FullName);

        section.Should().Contain("Worktree rules.").And.NotContain("Above the worktree.");
    }
}
