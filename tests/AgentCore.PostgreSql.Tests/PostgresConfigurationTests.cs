using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary><c>UsePostgreSql</c> bound from configuration.</summary>
public sealed class PostgresConfigurationTests
{
    private static IConfigurationSection Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("AgentCore:PostgreSql");

    [Test]
    public async Task UsePostgreSql_ConfigurationSection_BindsTheConnectionStringAndTheOptions()
    {
        string connectionString = PostgresServer.CreateDatabase();
        var section = Section(new()
        {
            ["AgentCore:PostgreSql:ConnectionString"] = connectionString,
            ["AgentCore:PostgreSql:UseHistory"] = "false",
        });
        var services = new ServiceCollection();
        services.AddAgentCore(o => o.DataDirectory = Path.GetTempPath()).UsePostgreSql(section);
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<ISessionStore>();
        await store.SaveSessionAsync(new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "bound", CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch });

        store.Should().BeOfType<PostgreSqlSessionStore>();
        provider.GetRequiredService<ISessionLockProvider>().Should().BeOfType<PostgreSqlSessionLockProvider>();
        provider.GetRequiredService<ISessionHistory>().Should().BeOfType<JsonlSessionHistory>("UseHistory is false");
    }

    [Test]
    public void UsePostgreSql_NoConnectionStringInConfiguration_ThrowsNamingTheSetting()
    {
        var builder = new ServiceCollection().AddAgentCore();

        var act = () => builder.UsePostgreSql(Section(new() { ["AgentCore:PostgreSql:UseHistory"] = "false" }));

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("AgentCore:PostgreSql:ConnectionString");
    }

    [Test]
    public void UsePostgreSql_MalformedConnectionStringInConfiguration_ThrowsNamingTheSettingNotThePassword()
    {
        var builder = new ServiceCollection().AddAgentCore();

        var act = () => builder.UsePostgreSql(Section(new() { ["AgentCore:PostgreSql:ConnectionString"] = "Host=db;Password=hunter2;NoSuchKeyword=1" }));

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("AgentCore:PostgreSql:ConnectionString").And.NotContain("hunter2");
    }

    [Test]
    public void UsePostgreSql_ValueOfTheWrongTypeInConfiguration_ThrowsNamingTheSettingAndTheValue()
    {
        var builder = new ServiceCollection().AddAgentCore();

        var act = () => builder.UsePostgreSql(Section(new() { ["AgentCore:PostgreSql:ConnectionString"] = "Host=db", ["AgentCore:PostgreSql:UseHistory"] = "sometimes" }));

        act.Should().Throw<InvalidOperationException>().Which.Message.Should().Contain("AgentCore:PostgreSql:UseHistory").And.Contain("sometimes");
    }
}
