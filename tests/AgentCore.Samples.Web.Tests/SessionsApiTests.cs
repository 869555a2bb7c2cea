using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;

namespace AgentCore.Samples.Web.Tests;

/// <summary>Sessions CRUD over HTTP, and AgentCore's exceptions as problem details (404, 400).</summary>
[TestFixture]
public sealed class SessionsApiTests() : SampleServerFixture(TimeSpan.Zero)
{
    [Test]
    public async Task Create_NoBody_Returns201WithDefaultTitleAndLocation()
    {
        using var response = await Client.PostAsync("api/sessions", content: null);

        response.StatusCode.Should().Be(HttpStatusCode.Created);
        var session = await response.Content.ReadFromJsonAsync<JsonElement>();
        session.Id().Should().StartWith("ses_");
        session.GetProperty("title").GetString().Should().StartWith("New Session - ");
        session.GetProperty("cost").GetDecimal().Should().Be(0m);
        response.Headers.Location!.ToString().Should().Be($"/api/sessions/{session.Id()}");
    }

    [Test]
    public async Task Create_WithTitle_GetReturnsIt()
    {
        var created = await Client.CreateSessionAsync("Planning the trip");

        var read = await Client.GetFromJsonAsync<JsonElement>($"api/sessions/{created.Id()}");

        read.GetProperty("title").GetString().Should().Be("Planning the trip");
        read.GetProperty("createdAt").GetDateTimeOffset().Should().Be(created.GetProperty("createdAt").GetDateTimeOffset());
    }

    [Test]
    public async Task List_TwoSessions_NewestFirst()
    {
        var older = await Client.CreateSessionAsync("older");
        var newer = await Client.CreateSessionAsync("newer");

        var ids = (await Client.GetFromJsonAsync<JsonElement[]>("api/sessions"))!.Select(s => s.Id()).ToList();

        ids.Should().ContainInOrder(newer.Id(), older.Id());
    }

    [Test]
    public async Task Patch_Title_IsStoredAndTrimmed()
    {
        var session = await Client.CreateSessionAsync();

        using var response = await Client.PatchAsJsonAsync($"api/sessions/{session.Id()}", new { title = "  Renamed  " });

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString().Should().Be("Renamed");
        var read = await Client.GetFromJsonAsync<JsonElement>($"api/sessions/{session.Id()}");
        read.GetProperty("title").GetString().Should().Be("Renamed");
    }

    [Test]
    public async Task Delete_Existing_Returns204AndTheSessionIsGone()
    {
        var session = await Client.CreateSessionAsync("to delete");

        using var deleted = await Client.DeleteAsync($"api/sessions/{session.Id()}");

        deleted.StatusCode.Should().Be(HttpStatusCode.NoContent);
        using var read = await Client.GetAsync($"api/sessions/{session.Id()}");
        read.StatusCode.Should().Be(HttpStatusCode.NotFound);
        var ids = (await Client.GetFromJsonAsync<JsonElement[]>("api/sessions"))!.Select(s => s.Id());
        ids.Should().NotContain(session.Id());
    }

    [Test]
    public async Task Messages_NewSession_Empty()
    {
        var session = await Client.CreateSessionAsync();

        var messages = await Client.GetFromJsonAsync<JsonElement[]>($"api/sessions/{session.Id()}/messages");

        messages.Should().BeEmpty();
    }

    [TestCase("GET", "api/sessions/ses_unknown")]
    [TestCase("GET", "api/sessions/ses_unknown/messages")]
    [TestCase("DELETE", "api/sessions/ses_unknown")]
    [TestCase("PATCH", "api/sessions/ses_unknown")]
    [TestCase("POST", "api/sessions/ses_unknown/chat")]
    public async Task AnyEndpoint_UnknownSession_Returns404ProblemDetails(string method, string path)
    {
        using var response = await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method is "PATCH" or "POST" ? JsonContent.Create(new { title = "t", text = "hello" }) : null,
        });

        await ShouldBeProblemAsync(response, HttpStatusCode.NotFound, "ses_unknown");
    }

    [TestCase("GET", "api/sessions/not-a-session-id")]
    [TestCase("GET", "api/sessions/ses_..%2F..%2Fetc")]
    [TestCase("POST", "api/sessions/bad%20id/abort")]
    public async Task AnyEndpoint_InvalidId_Returns400ProblemDetails(string method, string path)
    {
        using var response = await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        await ShouldBeProblemAsync(response, HttpStatusCode.BadRequest, "not a valid session id");
    }

    [TestCase("")]
    [TestCase("   ")]
    public async Task Patch_EmptyTitle_Returns400ProblemDetails(string title)
    {
        var session = await Client.CreateSessionAsync("kept");

        using var response = await Client.PatchAsJsonAsync($"api/sessions/{session.Id()}", new { title });

        await ShouldBeProblemAsync(response, HttpStatusCode.BadRequest, "title");
        (await Client.GetFromJsonAsync<JsonElement>($"api/sessions/{session.Id()}")).GetProperty("title").GetString().Should().Be("kept");
    }

    [Test]
    public async Task Chat_EmptyText_Returns400ProblemDetailsAndStoresNothing()
    {
        var session = await Client.CreateSessionAsync();

        using var response = await Client.PostChatAsync(session.Id(), "");

        await ShouldBeProblemAsync(response, HttpStatusCode.BadRequest, "no content");
        (await Client.GetFromJsonAsync<JsonElement[]>($"api/sessions/{session.Id()}/messages")).Should().BeEmpty();
    }

    [Test]
    public async Task Abort_IdleSession_ReturnsFalse()
    {
        var session = await Client.CreateSessionAsync();

        using var response = await Client.PostAsync($"api/sessions/{session.Id()}/abort", content: null);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("aborted").GetBoolean().Should().BeFalse();
    }

    [Test]
    public async Task Info_NoApiKey_SaysItIsTheOfflineDemo()
    {
        var info = await Client.GetFromJsonAsync<JsonElement>("api/info");

        info.GetProperty("offline").GetBoolean().Should().BeTrue();
        info.GetProperty("model").GetString().Should().Be("demo/offline-demo");
        info.GetProperty("description").GetString().Should().Contain("not a real model");
    }

    internal static async Task ShouldBeProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detailContains)
    {
        response.StatusCode.Should().Be(status);
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("status").GetInt32().Should().Be((int)status);
        problem.GetProperty("detail").GetString().Should().Contain(detailContains);
    }
}
