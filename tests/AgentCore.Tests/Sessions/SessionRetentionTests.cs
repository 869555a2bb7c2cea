using AgentCore.Tests.Engine;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NUnit.Framework;

namespace AgentCore.Tests.Sessions;

public sealed class SessionRetentionTests
{
    [Test]
    public async Task AddSessionRetention_IntervalElapses_PurgesSessionsOlderThanMaxAgeOnly()
    {
        await using var h = new EngineHarness(
            inMemory: true,
            build: b => b.AddSessionRetention(o =>
            {
                o.MaxAge = TimeSpan.FromMinutes(20);
                o.Interval = TimeSpan.FromHours(1);
            }));
        var service = h.Services.GetServices<IHostedService>().OfType<BackgroundService>().Should().ContainSingle().Subject;
        await service.StartAsync(CancellationToken.None);
        await h.Time.WaitForTimersAsync(1); // the first purge ran (nothing to purge) and the next is scheduled
        var old = await h.Sessions.CreateAsync(new CreateSessionRequest { Title = "old" });
        h.Time.Advance(TimeSpan.FromMinutes(50));
        var recent = await h.Sessions.CreateAsync(new CreateSessionRequest { Title = "recent" });

        h.Time.Advance(TimeSpan.FromMinutes(10)); // the hour is up: the purge runs with "older than" = 40 minutes after the start
        await h.Time.WaitForTimersAsync(1);       // it ran and scheduled the next one

        var listed = new List<string>();
        await foreach (var session in h.Sessions.ListAsync())
        {
            listed.Add(session.Id);
        }

        listed.Should().Equal(recent.Id);
        await service.StopAsync(CancellationToken.None);
        (await h.Sessions.GetAsync(recent.Id)).Title.Should().Be("recent");
        await FluentActions.Awaiting(() => h.Sessions.GetAsync(old.Id)).Should().ThrowAsync<SessionNotFoundException>();
    }

    [TestCase(0, 60)]
    [TestCase(-1, 60)]
    [TestCase(60, 0)]
    public async Task AddSessionRetention_NonPositiveAgeOrInterval_FailsValidationNamingIt(int maxAgeMinutes, int intervalMinutes)
    {
        await using var h = new EngineHarness(
            inMemory: true,
            build: b => b.AddSessionRetention(o =>
            {
                o.MaxAge = TimeSpan.FromMinutes(maxAgeMinutes);
                o.Interval = TimeSpan.FromMinutes(intervalMinutes);
            }));

        var act = () => h.Services.GetRequiredService<IOptions<SessionRetentionOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().WithMessage(maxAgeMinutes <= 0 ? "*MaxAge*" : "*Interval*");
    }

    [Test]
    public async Task PurgeAsync_JsonlHistory_KeepsTheLedgerEntries()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.EnqueueText("answer", 10, 1);
        await h.ChatAsync(session.Id, "hello");
        int before = (await h.ReadHistoryAsync()).Count;
        h.Time.Advance(TimeSpan.FromDays(1));

        var purged = await h.Sessions.PurgeAsync(h.Time.GetUtcNow());

        purged.Should().Equal(session.Id);
        before.Should().BeGreaterThan(0);
        (await h.ReadHistoryAsync()).Should().HaveCount(before, "the JSONL history is an append-only ledger a purge never rewrites");
    }
}
