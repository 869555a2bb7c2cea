using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;

namespace AgentCore.Tests.Tools.Mcp;

public sealed class McpServerConfigTests
{
    [Test]
    public void Defaults_SafeAndDocumented()
    {
        var config = new McpServerConfig();

        config.ConnectTimeout.Should().Be(TimeSpan.FromSeconds(30));
        config.Enabled.Should().BeTrue();
        config.InheritEnvironment.Should().BeFalse();
        config.Arguments.Should().BeEmpty();
        config.Environment.Should().BeEmpty();
        config.Headers.Should().BeEmpty();
        new AgentCoreOptions().McpServers.Should().BeEmpty();
    }

    [Test]
    public void Bind_FromConfiguration_StdioAndHttpServers()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AgentCore:McpServers:files:Command"] = "npx",
            ["AgentCore:McpServers:files:Arguments:0"] = "-y",
            ["AgentCore:McpServers:files:Arguments:1"] = "@modelcontextprotocol/server-filesystem",
            ["AgentCore:McpServers:files:Environment:FILES_TOKEN"] = "t0k3n",
            ["AgentCore:McpServers:files:WorkingDirectory"] = "/srv",
            ["AgentCore:McpServers:files:ConnectTimeout"] = "00:00:05",
            ["AgentCore:McpServers:remote:Endpoint"] = "https://mcp.example.com/mcp",
            ["AgentCore:McpServers:remote:Headers:Authorization"] = "Bearer abc",
            ["AgentCore:McpServers:remote:Enabled"] = "false",
        }).Build();
        var services = new ServiceCollection();
        services.AddAgentCore(o => o.DataDirectory = Path.GetTempPath());
        services.Configure<AgentCoreOptions>(o => configuration.GetSection("AgentCore").Bind(o));
        using var provider = services.BuildServiceProvider();

        var servers = provider.GetRequiredService<IOptions<AgentCoreOptions>>().Value.McpServers;

        servers.Keys.Should().BeEquivalentTo("files", "remote");
        var files = servers["files"];
        files.Command.Should().Be("npx");
        files.Arguments.Should().Equal("-y", "@modelcontextprotocol/server-filesystem");
        files.Environment.Should().Equal(new Dictionary<string, string> { ["FILES_TOKEN"] = "t0k3n" });
        files.WorkingDirectory.Should().Be("/srv");
        files.ConnectTimeout.Should().Be(TimeSpan.FromSeconds(5));
        var remote = servers["remote"];
        remote.Endpoint.Should().Be(new Uri("https://mcp.example.com/mcp"));
        remote.Headers["authorization"].Should().Be("Bearer abc");
        remote.Enabled.Should().BeFalse();
        provider.GetRequiredService<IMcpServers>().GetStatus().Select(s => (s.Name, s.Status))
            .Should().Equal(("files", McpServerStatus.NotStarted), ("remote", McpServerStatus.Disabled));
    }

    [TestCase("", "not valid")]
    [TestCase("has space", "not valid")]
    [TestCase("dots.not.allowed", "not valid")]
    [TestCase("a-name-that-is-far-longer-than-32-chars", "not valid")]
    [TestCase("trailing-newline\n", "not valid")]
    public void Validate_BadName_Fails(string name, string expected)
    {
        var failures = Validate(name, new McpServerConfig { Command = "x" });

        failures.Should().ContainSingle().Which.Should().Contain(expected).And.Contain($"'{name}'");
    }

    [Test]
    public void Validate_NeitherCommandNorEndpoint_Fails()
    {
        Validate("srv", new McpServerConfig()).Should().ContainSingle().Which.Should().Contain("Command").And.Contain("Endpoint");
    }

    [Test]
    public void Validate_BothCommandAndEndpoint_Fails()
    {
        Validate("srv", new McpServerConfig { Command = "x", Endpoint = new Uri("http://localhost/mcp") })
            .Should().Contain(f => f.Contains("only one", StringComparison.Ordinal));
    }

    [TestCase("ftp://host/mcp")]
    [TestCase("/relative/mcp")]
    public void Validate_EndpointNotHttp_Fails(string endpoint)
    {
        Validate("srv", new McpServerConfig { Endpoint = new Uri(endpoint, UriKind.RelativeOrAbsolute) })
            .Should().ContainSingle().Which.Should().Contain("McpServers:srv:Endpoint");
    }

    [TestCase(0)]
    [TestCase(-1)]
    public void Validate_NonPositiveTimeout_Fails(int seconds)
    {
        Validate("srv", new McpServerConfig { Command = "x", ConnectTimeout = TimeSpan.FromSeconds(seconds) })
            .Should().ContainSingle().Which.Should().Contain("ConnectTimeout");
    }

    [Test]
    public void Validate_StdioWithHeaders_FailsWithoutQuotingTheValue()
    {
        var config = new McpServerConfig { Command = "x" };
        config.Headers["Authorization"] = "Bearer super-secret";

        var failures = Validate("srv", config);

        failures.Should().ContainSingle().Which.Should().Contain("Headers").And.NotContain("super-secret");
    }

    [Test]
    public void Validate_HttpWithStdioSettings_Fails()
    {
        var config = new McpServerConfig { Endpoint = new Uri("https://host/mcp"), Arguments = ["x"] };

        Validate("srv", config).Should().ContainSingle().Which.Should().Contain("stdio servers only");
    }

    [Test]
    public void Validate_BadEnvironmentName_FailsWithoutQuotingValues()
    {
        var config = new McpServerConfig { Command = "x" };
        config.Environment["BAD=NAME"] = "secret-value";

        var failures = Validate("srv", config);

        failures.Should().ContainSingle().Which.Should().Contain("BAD=NAME").And.NotContain("secret-value");
    }

    [Test]
    public void Validate_DisabledWithoutTransport_Passes()
    {
        Validate("later", new McpServerConfig { Enabled = false }).Should().BeEmpty();
    }

    [Test]
    public void Resolve_InvalidBoundServer_OptionsValidationExceptionNamingTheSetting()
    {
        var services = new ServiceCollection();
        services.AddAgentCore(o =>
        {
            o.DataDirectory = Path.GetTempPath();
            o.McpServers["broken"] = new McpServerConfig();
        });
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IMcpServers>();

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("McpServers:broken");
    }

    [Test]
    public void AddMcpServer_InvalidName_ArgumentExceptionNamingTheValue()
    {
        var builder = new ServiceCollection().AddAgentCore();

        var act = () => builder.AddMcpServer("no good", new McpServerConfig { Command = "x" });

        act.Should().Throw<ArgumentException>().WithParameterName("name").Which.Message.Should().Contain("'no good'");
    }

    [Test]
    public void AddMcpServer_InvalidConfig_ArgumentException()
    {
        var builder = new ServiceCollection().AddAgentCore();

        var act = () => builder.AddMcpServer("srv", new McpServerConfig());

        act.Should().Throw<ArgumentException>().WithParameterName("config");
    }

    [Test]
    public void AddMcpServer_SameNameTwice_InvalidOperationException()
    {
        var builder = new ServiceCollection().AddAgentCore().AddMcpServer("srv", new McpServerConfig { Command = "x" });

        var act = () => builder.AddMcpServer("srv", new McpServerConfig { Command = "y" });

        act.Should().Throw<InvalidOperationException>().Which.Message.Should().Contain("'srv'");
    }

    [Test]
    public void AddMcpServer_NameAlsoInBoundOptions_OptionsValidationException()
    {
        var services = new ServiceCollection();
        services.AddAgentCore(o =>
        {
            o.DataDirectory = Path.GetTempPath();
            o.McpServers["srv"] = new McpServerConfig { Command = "from-config" };
        }).AddMcpServer("srv", new McpServerConfig { Command = "from-code" });
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<AgentCoreOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("'srv'");
    }

    [Test]
    public void AddMcpServer_ConfigChangedAfterwards_ServerKeepsTheOptionsSnapshot()
    {
        var config = new McpServerConfig { Command = "first" };
        var services = new ServiceCollection();
        services.AddAgentCore(o => o.DataDirectory = Path.GetTempPath()).AddMcpServer("srv", config);
        using var provider = services.BuildServiceProvider();
        var source = provider.GetRequiredService<McpToolSource>();

        config.Command = "second";

        source.Servers.Single().Config.Command.Should().Be("first");
    }

    [Test]
    public void AddAgentCore_Twice_OneMcpToolSource()
    {
        var services = new ServiceCollection();
        services.AddAgentCore(o => o.DataDirectory = Path.GetTempPath()).AddMcpServer("a", new McpServerConfig { Command = "x" });
        services.AddAgentCore().AddMcpServer("b", new McpServerConfig { Command = "y" });
        using var provider = services.BuildServiceProvider();

        provider.GetServices<IToolSource>().OfType<McpToolSource>().Should().ContainSingle();
        provider.GetRequiredService<IMcpServers>().GetStatus().Select(s => s.Name).Should().Equal("a", "b");
    }

    private static List<string> Validate(string name, McpServerConfig config)
    {
        var failures = new List<string>();
        McpServerConfig.Validate(name, config, failures);
        return failures;
    }
}
