using System.Net;
using System.Net.Http.Headers;

namespace AgentCore.Tests.Fakes;

/// <summary>
/// An exception shaped like a provider SDK's: a public <c>StatusCode</c> and the response's <c>Headers</c>.
/// </summary>
internal sealed class ProviderException : Exception
{
    public ProviderException(HttpStatusCode statusCode, string message, Action<HttpResponseHeaders>? headers = null)
        : base(message)
    {
        StatusCode = statusCode;
        var response = new HttpResponseMessage(statusCode);
        headers?.Invoke(response.Headers);
        Headers = response.Headers;
    }

    public HttpStatusCode StatusCode { get; }

    public HttpResponseHeaders Headers { get; }
}

/// <summary>An exception with an integer <c>Status</c> property, as some SDKs (Azure) expose it.</summary>
internal sealed class StatusPropertyException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
