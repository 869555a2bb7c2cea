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
        using var chat = await a.Client.PostChatAsync(session.Id(), "tell me something long");
        chat.StatusCode.Should().Be(HttpStatusCode.OK);
        await using var turn = chat.ReadEventsAsync().GetAsyncEnumerator();
        var streamed = new List<StreamedEvent>();
        while (streamed.Count(e => e.Name == "text-delta") < 2 && await turn.MoveNextAsync())
        {
            streamed.Add(turn.Current);
        }

        // The page had this much from A, then its connection broke: it follows from B, then A, then B again.
        var followed = new List<StreamedEvent>();
        int resumedAt = streamed.Count;
        string lastId = streamed[^1].Id!;
        var instances = new[] { b, a, b };
        for (int connection = 0; connection < instances.Length; connection++)
        {
            using var follow = await instances[connection].Client.FollowAsync(session.Id(), lastId);
            follow.StatusCode.Should().Be(HttpStatusCode.OK);
            int read = 0;
            await foreach (var e in follow.ReadEventsAsync())
            {
                followed.Add(e);
                lastId = e.Id!;
                if (e.Name == "turn-completed" || (connection < instances.Length - 1 && ++read == 3))
                {
                    break;
                }
            }

            if (followed[^1].Name == "turn-completed")
            {
                break;
            }
        }

        while (await turn.MoveNextAsync())
        {
            streamed.Add(turn.Current);
        }

        followed.Select(e => e.Id).Should().Equal(streamed.Skip(resumedAt).Select(e => e.Id), "every event after the last id, once, in order");
        followed.Select(e => e.Name).Should().Equal(streamed.Skip(resumedAt).Select(e => e.Name));
        followed[^1].Name.Should().Be("turn-completed");
        string text = string.Concat(streamed.Take(resumedAt).Concat(followed)
            .Where(e => e.Name == "text-delta").Select(e => e.Data.GetProperty("text").GetString()));
        var messages = (await b.Client.GetFromJsonAsync<JsonElement[]>($"api/sessions/{session.Id()}/messages"))!;
        text.Should().Be(SampleApi.TextOf(messages[^1])).And.Be(SampleApi.DemoReply("tell me something long"));
    }
}
