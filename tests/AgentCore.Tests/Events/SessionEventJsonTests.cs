using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Events;

/// <summary><see cref="SessionEventJson"/>: every event type written and read back, as the PostgreSQL relay stores them.</summary>
public sealed class SessionEventJsonTests
{
    private const string Session = "ses_00000000000000000000000001";

    private static readonly SessionInfo Info = new()
    {
        Id = Session, Title = "t", CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch.AddTicks(7),
    };

    private static SessionMessage Message() => new()
    {
        Id = "msg_00000000000000000000000001", SessionId = Session, Role = ChatRole.Assistant, CreatedAt = DateTimeOffset.UnixEpoch,
        Parts = [new TextPart { Id = "prt_00000000000000000000000001", Text = "hello" }],
    };

    private static ToolPart Tool() => new() { Id = "prt_00000000000000000000000002", CallId = "call_1", ToolName = "delete_file", State = ToolState.AwaitingApproval };

    private static IEnumerable<SessionEvent> Events() =>
    [
        new SessionCreated(Session, Info) { Sequence = 1 },
        new SessionUpdated(Session, Info) { Sequence = 2 },
        new SessionDeleted(Session) { Sequence = 3 },
        new MessageUpdated(Session, Message()) { Sequence = 4 },
        new TextDelta(Session, "msg_1", "prt_1", "hel") { Sequence = 5 },
        new ReasoningDelta(Session, "msg_1", "prt_1", "hmm") { Sequence = 6 },
        new ToolCallUpdated(Session, "msg_1", Tool()) { Sequence = 7 },
        new ToolApprovalRequested(Session, "msg_1", Tool(), new ToolApprovalRequestContent("call_1", new FunctionCallContent("call_1", "delete_file"))) { Sequence = 8 },
        new StepFinished(Session, "msg_1", 2, new TokenUsage { Input = 10, Output = 5 }, 0.000123m, "stop") { Sequence = 9 },
        new Retrying(Session, 1, TimeSpan.FromSeconds(2), "overloaded") { Sequence = 10 },
        new CompactionStarted(Session, 1000) { Sequence = 11 },
        new CompactionFinished(Session, 1000, 100) { Sequence = 12 },
        new TurnCompleted(Session, Message(), ExitReason.Completed) { Sequence = long.MaxValue },
    ];

    [TestCaseSource(nameof(Events))]
    public void Deserialize_WhatSerializeWrote_TheSameEventWithItsSequence(SessionEvent original)
    {
        string json = SessionEventJson.Serialize(original);

        var read = SessionEventJson.Deserialize(SessionEventJson.TypeOf(original), json);

        read.Should().BeOfType(original.GetType());
        read.Sequence.Should().Be(original.Sequence);
        SessionEventJson.Serialize(read).Should().Be(json, "nothing is lost on the way");
    }

    [Test]
    public void Deserialize_ApprovalRequest_KeepsTheRequestAndItsCall()
    {
        var original = (ToolApprovalRequested)Events().Single(static e => e is ToolApprovalRequested);

        var read = (ToolApprovalRequested)SessionEventJson.Deserialize("tool-approval-requested", SessionEventJson.Serialize(original));

        read.Request.RequestId.Should().Be("call_1");
        read.Request.ToolCall.Should().BeOfType<FunctionCallContent>().Which.Name.Should().Be("delete_file");
    }

    [Test]
    public void TypeOf_TextDelta_IsKebabCase() => SessionEventJson.TypeOf(new TextDelta(Session, "m", "p", "x")).Should().Be("text-delta");

    [Test]
    public void Deserialize_UnknownTypeName_ThrowsNotSupported()
    {
        var act = () => SessionEventJson.Deserialize("from-the-future", "{}");

        act.Should().Throw<NotSupportedException>().WithMessage("*from-the-future*");
    }

    [Test]
    public void Deserialize_NotJson_ThrowsJsonException()
    {
        var act = () => SessionEventJson.Deserialize("text-delta", "not json");

        act.Should().Throw<JsonException>();
    }
}
