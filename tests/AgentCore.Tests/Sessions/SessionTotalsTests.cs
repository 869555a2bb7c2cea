using Microsoft.Extensions.AI;

namespace AgentCore.Tests.Sessions;

public sealed class SessionTotalsTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UnixEpoch;

    [Test]
    public void Reconcile_NewMessages_AddedAndCheckpointMovesToTheNewest()
    {
        var a = Message(10, 0.1m);
        var b = Message(20, 0.2m);
        var session = Session(SessionTotalsCheckpoint.Empty);

        var reconciled = SessionTotals.Reconcile(session, [a, b]);

        reconciled.Tokens.Should().Be(Usage(30));
        reconciled.Cost.Should().Be(0.3m);
        reconciled.TotalsCheckpoint.Should().Be(new SessionTotalsCheckpoint { MessageId = b.Id, MessageTokens = Usage(20), MessageCost = 0.2m });
    }

    [Test]
    public void Reconcile_Twice_CountsOnceAndReturnsTheSameSession()
    {
        var a = Message(10, 0.1m);
        var once = SessionTotals.Reconcile(Session(SessionTotalsCheckpoint.Empty), [a]);

        SessionTotals.Reconcile(once, [a]).Should().BeSameAs(once);
    }

    [Test]
    public void Reconcile_NewerMessagesOutOfOrderAfterTheOlderOnes_EachAddedOnce()
    {
        var old = Message(5, 0m);
        var user = Message(0, 0m);
        var reply = Message(10, 0.1m);
        var summary = Message(7, 0.07m);
        var counted = SessionTotals.Reconcile(Session(SessionTotalsCheckpoint.Empty), [old]);

        // A turn lists what it loaded, then its summary, then its own two messages (the summary's id is the newest).
        var reconciled = SessionTotals.Reconcile(counted, [old, summary, user, reply, reply]);

        reconciled.Tokens.Should().Be(Usage(22));
        reconciled.TotalsCheckpoint!.MessageId.Should().Be(summary.Id);
    }

    [Test]
    public void Reconcile_CheckpointMessageGrew_DifferenceAdded()
    {
        var reply = Message(10, 0.1m);
        var counted = SessionTotals.Reconcile(Session(SessionTotalsCheckpoint.Empty), [reply]);
        reply.Tokens = Usage(25);
        reply.Cost = 0.25m;

        var reconciled = SessionTotals.Reconcile(counted, [reply]);

        reconciled.Tokens.Should().Be(Usage(25));
        reconciled.Cost.Should().Be(0.25m);
    }

    [Test]
    public void Reconcile_NoCheckpoint_RecomputedFromTheMessages()
    {
        var session = Session(checkpoint: null) with { Tokens = Usage(999), Cost = 9m };

        var reconciled = SessionTotals.Reconcile(session, [Message(10, 0.1m), Message(20, 0.2m)]);

        reconciled.Tokens.Should().Be(Usage(30));
        reconciled.Cost.Should().Be(0.3m);
        reconciled.TotalsCheckpoint.Should().NotBeNull();
    }

    [Test]
    public void Reconcile_CheckpointMessageRemoved_RecomputedKeepingUsageOfNoMessage()
    {
        var a = Message(10, 0.1m);
        var b = Message(20, 0.2m);
        var counted = SessionTotals.AddOutsideMessages(SessionTotals.Reconcile(Session(SessionTotalsCheckpoint.Empty), [a, b]), Usage(3), 0.03m);

        var reconciled = SessionTotals.Reconcile(counted, [a]);

        reconciled.Tokens.Should().Be(Usage(13));
        reconciled.Cost.Should().Be(0.13m);
    }

    [Test]
    public void AddOutsideMessages_ThenReconcile_KeptOnce()
    {
        var a = Message(10, 0.1m);
        var titled = SessionTotals.AddOutsideMessages(Session(SessionTotalsCheckpoint.Empty), Usage(4), 0.04m);

        var reconciled = SessionTotals.Reconcile(titled, [a]);

        reconciled.Tokens.Should().Be(Usage(14));
        reconciled.Cost.Should().Be(0.14m);
        reconciled.TotalsCheckpoint!.OtherTokens.Should().Be(Usage(4));
    }

    [Test]
    public void AddOutsideMessages_NoCheckpointWithMessages_RecountedFirstSoAFullRecountKeepsIt()
    {
        var a = Message(10, 0.1m);
        var uncounted = Session(checkpoint: null) with { Tokens = Usage(999), Cost = 9m };

        var titled = SessionTotals.AddOutsideMessages(uncounted, Usage(4), 0.04m, [a]);
        var recounted = SessionTotals.Reconcile(titled, []);   // its message removed: counted again from scratch

        (titled.Tokens, titled.Cost).Should().Be((Usage(14), 0.14m));
        titled.TotalsCheckpoint!.OtherTokens.Should().Be(Usage(4));
        (recounted.Tokens, recounted.Cost).Should().Be((Usage(4), 0.04m));
    }

    [Test]
    public void AddOutsideMessages_NoCheckpointNoMessages_AddedButNotRecorded()
    {
        var titled = SessionTotals.AddOutsideMessages(Session(checkpoint: null), Usage(4), 0.04m);

        (titled.Tokens, titled.Cost, titled.TotalsCheckpoint).Should().Be((Usage(4), 0.04m, (SessionTotalsCheckpoint?)null));
    }

    private static TokenUsage Usage(long input) => new(input, 0, 0, 0, 0);

    private static SessionInfo Session(SessionTotalsCheckpoint? checkpoint) => new()
    {
        Id = AgentCoreIds.NewSessionId(), Title = "t", CreatedAt = T0, UpdatedAt = T0, TotalsCheckpoint = checkpoint,
    };

    private static SessionMessage Message(long input, decimal cost) => new()
    {
        Id = AgentCoreIds.NewMessageId(), SessionId = "ses_x", Role = ChatRole.Assistant, CreatedAt = T0, CompletedAt = T0,
        Tokens = Usage(input), Cost = cost,
    };
}
