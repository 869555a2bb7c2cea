using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentCore.TestInfrastructure;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Samples.Web.Tests;

/// <summary>
/// Two web sample instances on one PostgreSQL database (<c>AgentCore:PostgreSql:ConnectionString</c>, events across
/// instances on): a client streaming a turn from instance A loses its connection, follows the rest from instance B with
/// <c>Last-Event-ID</c>, loses that one too, goes back to A — and has every event once, in order, its text equal to the
/// stored message. The assertions hold wherever in the reply the reconnects land: the events stay stored for an hour.
/// </summary>
[TestFixture]
public sealed class TwoInstanceTests
{
    private TemporaryPostgres? _postgres;

    [OneTimeSetUp]
    public async Task StartPostgresAsync()
    {
        if (TemporaryPostgres.NotInstalledReason is { } notInstalled)
        {
            Assert.Ignore(notInstalled + " The two-instance tests need it.");
        }

        _postgres = await TemporaryPostgres.StartAsync();
    }

    [OneTimeTearDown]
    public async Task StopPostgresAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    [Test]
    public async Task Follow_TurnRunningOnTheOtherInstance_ResumesAcrossInstancesAndTheTextEqualsTheStoredMessage()
    {
        var environment = new Dictionary<string, string> { ["AgentCore__PostgreSql__ConnectionString"] = _postgres!.CreateDatabase() };
        await using var a = await SampleServer.StartAsync(TimeSpan.FromMilliseconds(15), environment);
        await using var b = await SampleServer.StartAsync(TimeSpan.FromMilliseconds(15), environment);
        var session = await a.Client.CreateSessionAsync();

        // The page had some of the reply from A, then its connection broke: it follows from B, then A, then B again.
        await ResumedReply.FollowAcrossDroppedConnectionsAsync(a.Client, session.Id(), [b.Client, a.Client, b.Client]);
    }
}
