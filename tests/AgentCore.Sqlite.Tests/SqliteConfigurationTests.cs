using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace AgentCore.Sqlite.Tests;

/// <summary><c>UseSqlite</c> with a path or a connection string, and bound from configuration.</summary>
public sealed class SqliteConfigurationTests
{
    private string _directory = null!;

    [SetUp]
    public void SetUp() => _directory = Directory.CreateTempSubdirectory("agentcore-sqlite-config-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    private ServiceProvider Build(Action<IAgentCoreBuilder> useSqlite)
    {
        var services = new ServiceCollection();
        useSqlite(services.AddAgentCore(o => o.DataDirectory = _directory));
        return services.BuildServiceProvider();
    }

    [Test]
    public async Task UseSqlite_ConnectionString_StoreOpensItsDataSourceAndNoFolderNamedAfterTheString()
    {
        string database = Path.Combine(_directory, "db", "agentcore.db");
        await using var provider = Build(b => b.UseSqlite($"Data Source={database}"));

        var store = provider.GetRequiredService<ISessionStore>().Should().BeOfType<SqliteSessionStore>().Subject;
        await store.SaveSessionAsync(new SessionInfo { Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch });

        store.DatabasePath.Should().Be(database);
        File.Exists(database).Should().BeTrue();
        Directory.EnumerateFileSystemEntries(Environment.CurrentDirectory, "Data Source*").Should().BeEmpty();
    }

    [TestCase("agentcore.db")]
    [TestCase("a=b.db")]
    public async Task UseSqlite_FilePath_UsedAsThePath(string fileName)
    {
        string database = Path.Combine(_directory, fileName);
        await using var provider = Build(b => b.UseSqlite(database));

        provider.GetRequiredService<ISessionStore>().Should().BeOfType<SqliteSessionStore>().Which.DatabasePath.Should().Be(database);
    }

    [Test]
    public void UseSqlite_ConnectionStringWithOtherKeywords_ThrowsNamingTheKeywordsNotTheirValues()
    {
        var act = () => Build(b => b.UseSqlite($"Data Source={Path.Combine(_directory, "x.db")};Password=hunter2;Cache=Shared"));

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("'Password'").And.Contain("'Cache'").And.NotContain("hunter2");
    }

    [TestCase("Data Source=:memory:")]
    [TestCase("Data Source=x;Mode=Memory")]
    public void UseSqlite_InMemoryConnectionString_Throws(string connectionString)
    {
        var act = () => Build(b => b.UseSqlite(connectionString));

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("in-memory");
    }

    [Test]
    public async Task UseSqlite_ConfigurationSection_BindsTheConnectionStringAndTheOptions()
    {
        string database = Path.Combine(_directory, "bound.db");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AgentCore:Sqlite:ConnectionString"] = $"Data Source={database}",
            ["AgentCore:Sqlite:UseSessionLock"] = "false",
        }).Build();

        await using var provider = Build(b => b.UseSqlite(configuration.GetSection("AgentCore:Sqlite")));

        provider.GetRequiredService<ISessionStore>().Should().BeOfType<SqliteSessionStore>().Which.DatabasePath.Should().Be(database);
        provider.GetRequiredService<ISessionLockProvider>().Should().NotBeOfType<FileSessionLockProvider>("UseSessionLock is false");
    }

    [Test]
    public void UseSqlite_OutOfRangeValueInConfiguration_ThrowsNamingTheSettingAndTheValue()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AgentCore:Sqlite:ConnectionString"] = Path.Combine(_directory, "x.db"),
            ["AgentCore:Sqlite:BusyTimeout"] = "-00:00:05",
        }).Build();

        var act = () => Build(b => b.UseSqlite(configuration.GetSection("AgentCore:Sqlite")));

        act.Should().Throw<ArgumentOutOfRangeException>().Which.Message.Should().Contain("AgentCore:Sqlite:BusyTimeout").And.Contain("-00:00:05");
    }

    [Test]
    public void UseSqlite_NoConnectionStringInConfiguration_ThrowsNamingTheSetting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AgentCore:Sqlite:BusyTimeout"] = "00:00:05" }).Build();

        var act = () => Build(b => b.UseSqlite(configuration.GetSection("AgentCore:Sqlite")));

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("AgentCore:Sqlite:ConnectionString");
    }
}
