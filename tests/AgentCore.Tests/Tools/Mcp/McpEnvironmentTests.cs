using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Tests.Tools.Mcp;

public sealed class McpEnvironmentTests
{
    private const string Secret = "AGENTCORE_TEST_SECRET";

    [Test]
    public void For_Default_OnlyBaselineAndConfiguredVariables()
    {
        using var _ = new EnvironmentVariable(Secret, "do-not-leak");
        var config = new McpServerConfig { Command = "x", Environment = { ["SERVER_TOKEN"] = "given" } };

        var variables = McpEnvironment.For(config);

        variables.Should().NotContainKey(Secret);
        variables["SERVER_TOKEN"].Should().Be("given");
        variables.Keys.Except(["SERVER_TOKEN"]).Should().BeSubsetOf(McpEnvironment.BaselineNames);
        variables.Should().ContainKey("PATH");
    }

    [Test]
    public void For_Default_TransportStartsFromAnEmptyEnvironment()
    {
        var options = McpClientTransportFactory.CreateStdioOptions("srv", new McpServerConfig { Command = "x" });

        options.InheritEnvironmentVariables.Should().BeFalse();
    }

    [Test]
    public void For_InheritEnvironment_OnlyConfiguredVariablesOnTop()
    {
        var config = new McpServerConfig { Command = "x", InheritEnvironment = true, Environment = { ["SERVER_TOKEN"] = "given" } };

        var options = McpClientTransportFactory.CreateStdioOptions("srv", config);

        options.InheritEnvironmentVariables.Should().BeTrue();
        options.EnvironmentVariables.Should().Equal(new Dictionary<string, string?> { ["SERVER_TOKEN"] = "given" });
    }

    [Test]
    public void For_ConfiguredVariableNamedLikeABaselineOne_ConfiguredWins()
    {
        var config = new McpServerConfig { Command = "x", Environment = { ["PATH"] = "/only/here" } };

        McpEnvironment.For(config)["PATH"].Should().Be("/only/here");
    }

    [Test]
    public void For_BaselineVariableHoldingAShellFunction_LeftOut()
    {
        using var _ = new EnvironmentVariable("TERM", "() { echo pwned; }");

        McpEnvironment.For(new McpServerConfig { Command = "x" }).Should().NotContainKey("TERM");
    }
}

/// <summary>Sets an environment variable of the test process for one test, then restores it.</summary>
internal sealed class EnvironmentVariable : IDisposable
{
    private readonly string _name;
    private readonly string? _previous;

    public EnvironmentVariable(string name, string? value)
    {
        _name = name;
        _previous = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
    }

    public void Dispose() => Environment.SetEnvironmentVariable(_name, _previous);
}
