using AgentCore.TestInfrastructure;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary>
/// Starts a throwaway PostgreSQL cluster for the test run (<see cref="TemporaryPostgres"/>) and stops and deletes it
/// after. Where PostgreSQL is not installed, the tests are ignored with a message saying so.
/// </summary>
/// <remarks>Set <c>AGENTCORE_PG_BIN</c> to the folder holding <c>initdb</c> and <c>pg_ctl</c> to choose an installation.</remarks>
[SetUpFixture]
public sealed class PostgresServer
{
    private static TemporaryPostgres? s_server;
    private static string? s_notInstalled;

    /// <summary>Creates a new, empty database and returns its connection string; ignores the test where PostgreSQL is not installed.</summary>
    public static string CreateDatabase() => Server.CreateDatabase();

    private static TemporaryPostgres Server
    {
        get
        {
            if (s_notInstalled is not null)
            {
                Assert.Ignore(s_notInstalled + " The PostgreSQL tests need it.");
            }

            return s_server ?? throw new InvalidOperationException("The PostgreSQL test server did not start; see the set-up failure.");
        }
    }

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        s_notInstalled = TemporaryPostgres.NotInstalledReason;
        if (s_notInstalled is null)
        {
            s_server = await TemporaryPostgres.StartAsync();
        }
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (s_server is { } server)
        {
            s_server = null;
            await server.DisposeAsync();
        }
    }
}
