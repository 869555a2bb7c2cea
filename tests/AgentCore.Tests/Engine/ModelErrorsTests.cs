using System.Net;
using System.Net.Http.Headers;
using AgentCore.Tests.Fakes;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

public sealed class ModelErrorsTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Test]
    public void StatusCode_HttpRequestException_ReadsIt()
    {
        ModelErrors.StatusCode(new HttpRequestException("x", null, HttpStatusCode.TooManyRequests)).Should().Be(429);
    }

    [Test]
    public void StatusCode_CustomExceptionWithStatusCodeProperty_ReadsIt()
    {
        ModelErrors.StatusCode(new ProviderException(HttpStatusCode.BadGateway, "x")).Should().Be(502);
    }

    [Test]
    public void StatusCode_CustomExceptionWithIntStatusProperty_ReadsIt()
    {
        ModelErrors.StatusCode(new StatusPropertyException(529, "overloaded")).Should().Be(529);
    }

    [Test]
    public void StatusCode_Wrapped_ReadsTheInnerException()
    {
        var wrapped = new InvalidOperationException("outer", new HttpRequestException("inner", null, HttpStatusCode.ServiceUnavailable));

        ModelErrors.StatusCode(wrapped).Should().Be(503);
    }

    [Test]
    public void StatusCode_None_Null()
    {
        ModelErrors.StatusCode(new HttpRequestException("connection refused")).Should().BeNull();
        ModelErrors.StatusCode(new InvalidOperationException("x")).Should().BeNull();
        ModelErrors.StatusCode(new StatusPropertyException(42, "not an HTTP status")).Should().BeNull();
    }

    [TestCase(408, true)]
    [TestCase(409, true)]
    [TestCase(429, true)]
    [TestCase(500, true)]
    [TestCase(502, true)]
    [TestCase(503, true)]
    [TestCase(504, true)]
    [TestCase(529, true)]
    [TestCase(400, false)]
    [TestCase(401, false)]
    [TestCase(403, false)]
    [TestCase(404, false)]
    [TestCase(413, false)]
    [TestCase(422, false)]
    public void IsTransient_ByStatus(int status, bool transient)
    {
        ModelErrors.IsTransient(new HttpRequestException("failed", null, (HttpStatusCode)status), CancellationToken.None).Should().Be(transient);
    }

    [Test]
    public void IsTransient_NetworkIoAndTimeouts_True()
    {
        ModelErrors.IsTransient(new HttpRequestException("connection refused"), CancellationToken.None).Should().BeTrue();
        ModelErrors.IsTransient(new IOException("reset"), CancellationToken.None).Should().BeTrue();
        ModelErrors.IsTransient(new TimeoutException(), CancellationToken.None).Should().BeTrue();
        ModelErrors.IsTransient(new TaskCanceledException("HttpClient.Timeout elapsed", new TimeoutException()), CancellationToken.None).Should().BeTrue();
        ModelErrors.IsTransient(new InvalidOperationException("wrapper", new IOException("reset")), CancellationToken.None).Should().BeTrue();
    }

    [Test]
    public void IsTransient_ProgrammingErrors_False()
    {
        ModelErrors.IsTransient(new InvalidOperationException("bug"), CancellationToken.None).Should().BeFalse();
        ModelErrors.IsTransient(new ArgumentException("bad"), CancellationToken.None).Should().BeFalse();
    }

    [Test]
    public void IsTransient_TurnCancelled_False()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        ModelErrors.IsTransient(new HttpRequestException("x", null, HttpStatusCode.ServiceUnavailable), cts.Token).Should().BeFalse();
        ModelErrors.IsTransient(new OperationCanceledException(cts.Token), cts.Token).Should().BeFalse();
    }

    [Test]
    public void IsTransient_ContextOverflowWithRetryableStatus_False()
    {
        ModelErrors.IsTransient(new HttpRequestException("prompt is too long: 210000 tokens > 200000 maximum", null, HttpStatusCode.InternalServerError), CancellationToken.None)
            .Should().BeFalse();
    }

    [TestCase("This model's maximum context length is 128000 tokens. However, your messages resulted in 130412 tokens. Please reduce the length of the messages.", TestName = "IsContextOverflow_OpenAIWording_True")]
    [TestCase("Error code: 400 - {'error': {'code': 'context_length_exceeded'}}", TestName = "IsContextOverflow_OpenAICodeWording_True")]
    [TestCase("prompt is too long: 210345 tokens > 200000 maximum", TestName = "IsContextOverflow_AnthropicWording_True")]
    [TestCase("input is too long for requested model", TestName = "IsContextOverflow_AnthropicBedrockWording_True")]
    [TestCase("The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).", TestName = "IsContextOverflow_GoogleWording_True")]
    [TestCase("the input length exceeds the context length", TestName = "IsContextOverflow_OllamaWording_True")]
    [TestCase("This model's maximum context length is 4096 tokens. However, you requested 5120 tokens (4096 in the messages, 1024 in the completion).", TestName = "IsContextOverflow_vLLMWording_True")]
    [TestCase("the request exceeds the available context size, try increasing it", TestName = "IsContextOverflow_LlamaCppWording_True")]
    [TestCase("Request too large for model", TestName = "IsContextOverflow_RequestTooLargeWording_True")]
    public void IsContextOverflow_ProviderWordings_True(string message)
    {
        ModelErrors.IsContextOverflow(new HttpRequestException(message, null, HttpStatusCode.BadRequest)).Should().BeTrue();
        ModelErrors.IsContextOverflow(new InvalidOperationException("wrapped", new Exception(message))).Should().BeTrue();
    }

    [Test]
    public void IsContextOverflow_Status413_True()
    {
        ModelErrors.IsContextOverflow(new ProviderException(HttpStatusCode.RequestEntityTooLarge, "payload")).Should().BeTrue();
    }

    [TestCase("Rate limit reached for requests per minute")]
    [TestCase("Invalid API key provided")]
    [TestCase("Overloaded")]
    [TestCase("The model `gpt-9` does not exist")]
    public void IsContextOverflow_OtherErrors_False(string message)
    {
        ModelErrors.IsContextOverflow(new HttpRequestException(message, null, HttpStatusCode.BadRequest)).Should().BeFalse();
    }

    [Test]
    public void RetryAfter_SecondsInExceptionData_Read()
    {
        var ex = new HttpRequestException("x", null, HttpStatusCode.TooManyRequests);
        ex.Data["Retry-After"] = "7";

        ModelErrors.RetryAfter(ex, Now).Should().Be(TimeSpan.FromSeconds(7));
    }

    [Test]
    public void RetryAfter_DataKeyInOtherCase_Read()
    {
        var ex = new HttpRequestException("x");
        ex.Data["retry-after"] = 3;

        ModelErrors.RetryAfter(ex, Now).Should().Be(TimeSpan.FromSeconds(3));
    }

    [Test]
    public void RetryAfter_SecondsInHeaders_Read()
    {
        var ex = new ProviderException(HttpStatusCode.TooManyRequests, "x", h => h.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(20)));

        ModelErrors.RetryAfter(ex, Now).Should().Be(TimeSpan.FromSeconds(20));
    }

    [Test]
    public void RetryAfter_HttpDateInHeaders_TimeUntilThatDate()
    {
        var ex = new ProviderException(HttpStatusCode.ServiceUnavailable, "x", h => h.RetryAfter = new RetryConditionHeaderValue(Now.AddSeconds(45)));

        ModelErrors.RetryAfter(ex, Now).Should().Be(TimeSpan.FromSeconds(45));
    }

    [Test]
    public void RetryAfter_HttpDateInData_TimeUntilThatDate()
    {
        var ex = new HttpRequestException("x");
        ex.Data["Retry-After"] = "Fri, 02 Jan 2026 03:05:05 GMT";

        ModelErrors.RetryAfter(ex, Now).Should().Be(TimeSpan.FromSeconds(60));
    }

    [Test]
    public void RetryAfter_DateInThePast_Zero()
    {
        var ex = new HttpRequestException("x");
        ex.Data["Retry-After"] = "Thu, 01 Jan 2026 00:00:00 GMT";

        ModelErrors.RetryAfter(ex, Now).Should().Be(TimeSpan.Zero);
    }

    [Test]
    public void RetryAfter_MillisecondsHeader_PreferredOverSeconds()
    {
        var ex = new ProviderException(HttpStatusCode.TooManyRequests, "x", h =>
        {
            h.Add("retry-after-ms", "250");
            h.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(1));
        });

        ModelErrors.RetryAfter(ex, Now).Should().Be(TimeSpan.FromMilliseconds(250));
    }

    [Test]
    public void RetryAfter_OnInnerException_Read()
    {
        var inner = new HttpRequestException("x");
        inner.Data["retry-after-ms"] = "1200";

        ModelErrors.RetryAfter(new InvalidOperationException("outer", inner), Now).Should().Be(TimeSpan.FromMilliseconds(1200));
    }

    [Test]
    public void RetryAfter_HeadersOnResponseProperty_Read()
    {
        var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(9));

        ModelErrors.RetryAfter(new ResponseException(response), Now).Should().Be(TimeSpan.FromSeconds(9));
    }

    [TestCase("soon")]
    [TestCase("-5")]
    public void RetryAfter_Unreadable_Null(string value)
    {
        var ex = new HttpRequestException("x");
        ex.Data["Retry-After"] = value;

        ModelErrors.RetryAfter(ex, Now).Should().BeNull();
    }

    [Test]
    public void RetryAfter_Absent_Null()
    {
        ModelErrors.RetryAfter(new HttpRequestException("x", null, HttpStatusCode.TooManyRequests), Now).Should().BeNull();
        ModelErrors.RetryAfter(new ProviderException(HttpStatusCode.TooManyRequests, "x"), Now).Should().BeNull();
    }

    private sealed class ResponseException(HttpResponseMessage response) : Exception("failed")
    {
        public HttpResponseMessage Response { get; } = response;
    }
}
