using AgentCore.Tests.Shared;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using AgentCore.Tests.Fakes;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

/// <summary>Transient failures retried with backoff on the fake clock; other failures typed and thrown.</summary>
public sealed class RetryTests
{
    [Test]
    public async Task ChatStreamingAsync_RetryAfterInExceptionData_WaitsThatLongThenSucceeds()
    {
        await using var h = new EngineHarness();
        var timers = TimersOf(h.Time);
        var session = await h.Sessions.CreateAsync();
        var limited = new HttpRequestException("rate limited", null, HttpStatusCode.TooManyRequests);
        limited.Data["Retry-After"] = "7";
        h.Client.Enqueue(r => r.Throw(limited)).Enqueue(r => r.Text("finally").Usage(10, 1));

        var turn = h.ChatCapturingAsync(session.Id, "go");
        var delay = await timers.ReadAsync();

        delay.Should().Be(TimeSpan.FromSeconds(7));
        h.Client.Calls.Should().HaveCount(1);
        h.Time.Advance(TimeSpan.FromSeconds(6.9));
        h.Client.Calls.Should().HaveCount(1, "the retry waits the full Retry-After");
        turn.IsCompleted.Should().BeFalse();
        h.Time.Advance(TimeSpan.FromSeconds(0.1));
        var result = await turn;

        result.Error.Should().BeNull();
        h.Client.Calls.Should().HaveCount(2);
        var retrying = result.Events.OfType<Retrying>().Should().ContainSingle().Which;
        retrying.Attempt.Should().Be(1);
        retrying.Delay.Should().Be(TimeSpan.FromSeconds(7));
        retrying.Reason.Should().Be("HttpRequestException (HTTP 429)");
        result.Events.IndexOf(retrying).Should().BeLessThan(result.Events.FindIndex(e => e is TextDelta));
        result.Completed.ExitReason.Value.Should().Be("completed");
        result.Completed.Message.Text.Should().Be("finally");
        result.Completed.Message.Error.Should().BeNull();
        result.Completed.Message.Parts.OfType<StepStartPart>().Should().ContainSingle("a retry is the same step");
    }

    [Test]
    public async Task ChatStreamingAsync_RetryAfterInResponseHeaders_Honoured()
    {
        await using var h = new EngineHarness();
        var timers = TimersOf(h.Time);
        var session = await h.Sessions.CreateAsync();
        var overloaded = new ProviderException(HttpStatusCode.ServiceUnavailable, "overloaded",
            headers => headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(12)));
        h.Client.Enqueue(r => r.Throw(overloaded)).EnqueueText("ok");

        var turn = h.ChatCapturingAsync(session.Id, "go");
        (await timers.ReadAsync()).Should().Be(TimeSpan.FromSeconds(12));
        h.Time.Advance(TimeSpan.FromSeconds(12));
        var result = await turn;

        result.Events.OfType<Retrying>().Single().Reason.Should().Be("ProviderException (HTTP 503)");
        result.Completed.ExitReason.Value.Should().Be("completed");
    }

    [Test]
    public async Task ChatStreamingAsync_RetryAfterMsHeader_Honoured()
    {
        await using var h = new EngineHarness();
        var timers = TimersOf(h.Time);
        var session = await h.Sessions.CreateAsync();
        var overloaded = new ProviderException(HttpStatusCode.TooManyRequests, "slow down", headers => headers.Add("retry-after-ms", "1500"));
        h.Client.Enqueue(r => r.Throw(overloaded)).EnqueueText("ok");

        var turn = h.ChatCapturingAsync(session.Id, "go");
        (await timers.ReadAsync()).Should().Be(TimeSpan.FromMilliseconds(1500));
        h.Time.Advance(TimeSpan.FromMilliseconds(1500));

        (await turn).Completed.ExitReason.Value.Should().Be("completed");
    }

    [Test]
    public async Task ChatStreamingAsync_NoRetryAfter_BackoffDoublesFromTwoSecondsCappedAtThirtyWithJitter()
    {
        await using var h = new EngineHarness(o => o.MaxRetries = 6);
        var timers = TimersOf(h.Time);
        var session = await h.Sessions.CreateAsync();
        for (int i = 0; i < 6; i++)
        {
            h.Client.Enqueue(r => r.Throw(new HttpRequestException("server error", null, HttpStatusCode.InternalServerError)));
        }

        h.Client.EnqueueText("recovered");

        var turn = h.ChatCapturingAsync(session.Id, "go");
        var delays = new List<TimeSpan>();
        for (int attempt = 1; attempt <= 6; attempt++)
        {
            var delay = await timers.ReadAsync();
            h.Client.Calls.Should().HaveCount(attempt);
            delays.Add(delay);
            h.Time.Advance(delay);
        }

        var result = await turn;

        result.Completed.ExitReason.Value.Should().Be("completed");
        h.Client.Calls.Should().HaveCount(7);
        // Task.Delay schedules its timer in whole milliseconds.
        result.Events.OfType<Retrying>().Select(r => r.Delay).Should().Equal(delays, (announced, waited) => (announced - waited).Duration() < TimeSpan.FromMilliseconds(1));
        result.Events.OfType<Retrying>().Select(r => r.Attempt).Should().Equal(1, 2, 3, 4, 5, 6);
        double[] nominal = [2, 4, 8, 16, 30, 30];
        for (int i = 0; i < delays.Count; i++)
        {
            delays[i].TotalSeconds.Should().BeInRange(nominal[i] * 0.8, Math.Min(nominal[i] * 1.2, 30), $"retry {i + 1} is {nominal[i]} s ± 20 %, at most 30 s");
        }
    }

    [Test]
    public async Task ChatStreamingAsync_TransientFailuresBeyondMaxRetries_ThrowsWithApiErrorStored()
    {
        await using var h = new EngineHarness(o => o.MaxRetries = 2);
        var timers = TimersOf(h.Time);
        var session = await h.Sessions.CreateAsync();
        for (int i = 0; i < 3; i++)
        {
            h.Client.Enqueue(r => r.Throw(new HttpRequestException("unavailable", null, HttpStatusCode.ServiceUnavailable)));
        }

        var turn = h.ChatCapturingAsync(session.Id, "go");
        h.Time.Advance(await timers.ReadAsync());
        h.Time.Advance(await timers.ReadAsync());
        var result = await turn;

        h.Client.Calls.Should().HaveCount(3);
        result.Events.OfType<Retrying>().Should().HaveCount(2);
        result.Error.Should().BeOfType<HttpRequestException>().Which.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        result.Events.Last().Should().BeOfType<TurnCompleted>().Which.ExitReason.Value.Should().Be("error");
        var stored = (await h.Sessions.GetMessagesAsync(session.Id))[1];
        stored.Error!.Kind.Should().Be(MessageErrorKind.Api);
        stored.Error.StatusCode.Should().Be(503);
        stored.CompletedAt.Should().NotBeNull();
    }

    [Test]
    public async Task ChatStreamingAsync_MaxRetriesZero_NoRetry()
    {
        await using var h = new EngineHarness(o => o.MaxRetries = 0);
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Throw(new HttpRequestException("unavailable", null, HttpStatusCode.ServiceUnavailable)));

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Error.Should().BeOfType<HttpRequestException>();
        result.Events.OfType<Retrying>().Should().BeEmpty();
        h.Time.ArmedTimers.Should().Be(0);
    }

    [Test]
    public async Task ChatStreamingAsync_FailureAfterOutput_NotRetriedPartialTextKept()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Text("half an ans").Throw(new HttpRequestException("connection reset", null, HttpStatusCode.BadGateway)));

        var result = await h.ChatCapturingAsync(session.Id, "go");

        h.Client.Calls.Should().ContainSingle();
        result.Events.OfType<Retrying>().Should().BeEmpty();
        h.Time.ArmedTimers.Should().Be(0);
        result.Error.Should().BeOfType<HttpRequestException>();
        var stored = (await h.Sessions.GetMessagesAsync(session.Id))[1];
        stored.Text.Should().Be("half an ans");
        stored.Error.Should().Be(new MessageError(MessageErrorKind.Api, "connection reset", 502));
    }

    [Test]
    public async Task ChatStreamingAsync_ToolCallThenFailure_NotRetried()
    {
        await using var h = new EngineHarness(build: b => b.AddTool(EngineHarness.Tool("t", s => s)));
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.ToolCall("call_1", "t", new { input = "x" }).Throw(new IOException("reset")));

        var result = await h.ChatCapturingAsync(session.Id, "go");

        h.Client.Calls.Should().ContainSingle();
        result.Error.Should().BeOfType<IOException>();
        var part = result.Completed.Message.Parts.OfType<ToolPart>().Single();
        part.State.Should().Be(ToolState.Error, "a call never run is closed so the next prompt is valid");
    }

    [Test]
    public async Task ChatStreamingAsync_NetworkErrorWithoutStatus_Retried()
    {
        await using var h = new EngineHarness();
        var timers = TimersOf(h.Time);
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Throw(new HttpRequestException("Connection refused", new IOException("refused"))))
            .Enqueue(r => r.Throw(new TimeoutException("timed out")))
            .EnqueueText("ok");

        var turn = h.ChatCapturingAsync(session.Id, "go");
        h.Time.Advance(await timers.ReadAsync());
        h.Time.Advance(await timers.ReadAsync());
        var result = await turn;

        result.Completed.ExitReason.Value.Should().Be("completed");
        result.Events.OfType<Retrying>().Select(r => r.Reason).Should().Equal("HttpRequestException", "TimeoutException");
    }

    [Test]
    public async Task ChatStreamingAsync_NonTransientError_ThrownAfterTurnCompletedWithStatusStored()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var badRequest = new HttpRequestException("invalid 'temperature'", null, HttpStatusCode.BadRequest);
        h.Client.Enqueue(r => r.Throw(badRequest));

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Error.Should().BeSameAs(badRequest);
        h.Client.Calls.Should().ContainSingle();
        result.Events.OfType<Retrying>().Should().BeEmpty();
        var completed = result.Events.Last().Should().BeOfType<TurnCompleted>().Which;
        completed.ExitReason.Value.Should().Be("error");
        completed.Message.Error.Should().Be(new MessageError(MessageErrorKind.Api, "invalid 'temperature'", 400));
        var stored = (await h.Sessions.GetMessagesAsync(session.Id))[1];
        stored.Error.Should().Be(completed.Message.Error);
        stored.CompletedAt.Should().NotBeNull();
    }

    [Test]
    public async Task ChatAsync_NonTransientError_Throws()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Throw(new ProviderException(HttpStatusCode.Unauthorized, "invalid api key")));

        var act = () => h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "go" });

        (await act.Should().ThrowAsync<ProviderException>()).Which.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Test]
    public async Task ChatStreamingAsync_ErrorWithoutStatus_StoredAsUnknown()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Throw(new InvalidOperationException("client bug")));

        var result = await h.ChatCapturingAsync(session.Id, "go");

        h.Client.Calls.Should().ContainSingle();
        result.Error.Should().BeOfType<InvalidOperationException>();
        result.Completed.Message.Error!.Kind.Should().Be(MessageErrorKind.Unknown);
        result.Completed.Message.Error.Message.Should().Contain("client bug");
    }

    [Test]
    public async Task ChatStreamingAsync_Http413_ContextOverflowNotRetried()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Throw(new ProviderException(HttpStatusCode.RequestEntityTooLarge, "request entity too large")));

        var result = await h.ChatCapturingAsync(session.Id, "go");

        h.Client.Calls.Should().ContainSingle();
        result.Completed.Message.Error.Should().Be(new MessageError(MessageErrorKind.ContextOverflow, "request entity too large", 413));
        result.Completed.ExitReason.Value.Should().Be("error");
    }

    [Test]
    public async Task ChatStreamingAsync_ContextLengthExceededMessage_ContextOverflow()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        const string Text = "This model's maximum context length is 128000 tokens. (context_length_exceeded)";
        h.Client.Enqueue(r => r.Throw(new HttpRequestException(Text, null, HttpStatusCode.BadRequest)));

        var result = await h.ChatCapturingAsync(session.Id, "go");

        result.Error.Should().BeOfType<HttpRequestException>();
        result.Completed.Message.Error.Should().Be(new MessageError(MessageErrorKind.ContextOverflow, Text, 400));
    }

    [Test]
    public async Task Abort_DuringRetryDelay_EndsAbortedWithoutAnotherCall()
    {
        await using var h = new EngineHarness();
        var timers = TimersOf(h.Time);
        var session = await h.Sessions.CreateAsync();
        h.Client.Enqueue(r => r.Throw(new HttpRequestException("busy", null, HttpStatusCode.TooManyRequests)));

        var turn = h.ChatCapturingAsync(session.Id, "go");
        await timers.ReadAsync();
        h.Sessions.Abort(session.Id).Should().BeTrue();
        var result = await turn;

        result.Error.Should().BeNull();
        result.Completed.ExitReason.Value.Should().Be("aborted");
        h.Client.Calls.Should().ContainSingle();
    }

    /// <summary>The delays of the timers the clock is asked for, in order: a retry's wait has started when one arrives.</summary>
    internal static ChannelReader<TimeSpan> TimersOf(ObservedTimeProvider time)
    {
        var channel = Channel.CreateUnbounded<TimeSpan>();
        time.TimerScheduled += delay => channel.Writer.TryWrite(delay);
        return channel.Reader;
    }
}
