using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Testing;

public abstract partial class SessionStoreConformanceTests
{
    // ---- full-text search: SearchAsync(SessionSearchQuery) ----

    /// <summary>A word of a user's text and a word of a tool's output are found, with the session, message, part, role, source, time and a marked snippet.</summary>
    [Test]
    public async Task SearchAsync_TextAndToolOutput_FoundWithWhereAndAMarkedSnippet()
    {
        var session = NewSession(BaseTime);
        await Store.SaveSessionAsync(session);
        var user = UserMessage(session.Id, BaseTime.AddSeconds(1), "Please deploy the kestrel service to staging.");
        var reply = CompletedReply(session.Id, BaseTime.AddSeconds(2), "Done.");
        var tool = new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "call_1", ToolName = "shell", State = ToolState.Completed, Output = "exit 0: kestrel listening on port 8080" };
        reply.Parts.Insert(0, tool);
        await Store.SaveMessageAsync(user);
        await Store.SaveMessageAsync(reply);

        var hits = await Store.SearchAsync(new SessionSearchQuery("KESTREL"));

        hits.Should().HaveCount(2);
        var inText = hits.Single(h => h.MessageId == user.Id);
        inText.SessionId.Should().Be(session.Id);
        inText.PartId.Should().Be(user.Parts[0].Id);
        inText.Role.Should().Be(ChatRole.User);
        inText.Source.Should().Be(SessionSearchSource.Text);
        inText.CreatedAt.Should().Be(user.CreatedAt);
        inText.Snippet.Text.Should().Be("Please deploy the kestrel service to staging.");
        inText.Snippet.Highlights.Should().Equal(new SearchHighlight(18, 7));
        var inTool = hits.Single(h => h.MessageId == reply.Id);
        inTool.PartId.Should().Be(tool.Id);
        inTool.Role.Should().Be(ChatRole.Assistant);
        inTool.Source.Should().Be(SessionSearchSource.ToolOutput);
        inTool.Snippet.Text.Should().Be("exit 0: kestrel listening on port 8080");
    }

    /// <summary>Every word must be in the part; each matches the words it starts, ignoring case; punctuation separates words.</summary>
    [Test]
    public async Task SearchAsync_SeveralWords_AllRequiredAsWordPrefixesIgnoringCase()
    {
        var session = NewSession(BaseTime);
        await Store.SaveSessionAsync(session);
        var both = UserMessage(session.Id, BaseTime, "The Deployment of build-42 failed: see error_log.txt");
        var one = UserMessage(session.Id, BaseTime.AddSeconds(1), "the deployment went fine");
        var inside = UserMessage(session.Id, BaseTime.AddSeconds(2), "redeployment of 42 failed");
        await Store.SaveMessageAsync(both);
        await Store.SaveMessageAsync(one);
        await Store.SaveMessageAsync(inside);

        (await Ids("deploy FAIL")).Should().BeEquivalentTo([both.Id]);
        (await Ids("42 build")).Should().BeEquivalentTo([both.Id]);
        (await Ids("error log txt")).Should().BeEquivalentTo([both.Id]);
        (await Ids("deployment")).Should().BeEquivalentTo([both.Id, one.Id]);
        (await Ids("ployment")).Should().BeEmpty("a word matches only the words it starts");
        (await Ids("deployments")).Should().BeEmpty();
        (await Ids("\"deployment\" -fine")).Should().Equal([one.Id], "quotes and dashes are not syntax: \"fine\" is a word to find");
    }

    /// <summary>Non-ASCII words are found.</summary>
    [Test]
    public async Task SearchAsync_NonAsciiWords_Found()
    {
        var (session, message) = await SaveSessionWithMessageAsync("Viele Grüße aus Köln, naïve café");

        (await Ids("grüße")).Should().Equal(message.Id);
        (await Ids("café naïve")).Should().Equal(message.Id);
        (await Ids("gruße")).Should().BeEmpty("diacritics are not folded");
    }

    /// <summary>Reasoning, files, step parts and tool arguments are not searched; nor is a message still being written, until it completes.</summary>
    [Test]
    public async Task SearchAsync_OtherPartsAndOpenMessages_NotSearchedUntilCompleted()
    {
        var session = NewSession(BaseTime);
        await Store.SaveSessionAsync(session);
        var message = AssistantMessage(session.Id, AgentCoreIds.NewMessageId(), BaseTime);
        message.Parts.Add(new ReasoningPart { Id = AgentCoreIds.NewPartId(), Text = "thinking about zebras" });
        message.Parts.Add(new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "c", ToolName = "zebra_tool", State = ToolState.Running, Arguments = Json("""{"animal":"zebras"}""") });
        await Store.SaveMessageAsync(message);
        var text = new TextPart { Id = AgentCoreIds.NewPartId(), Text = "" };
        await AddPartAsync(message, text);
        await AppendAsync(message, text, "Here are the ");
        await AppendAsync(message, text, "zebras you asked for.");

        (await Ids("zebras")).Should().BeEmpty("the reply is still streaming, and reasoning and arguments are never searched");

        message.CompletedAt = BaseTime.AddSeconds(3);
        await Store.SavePartAsync(message, text);

        var hits = await Store.SearchAsync(new SessionSearchQuery("zebras"));
        hits.Should().ContainSingle().Which.PartId.Should().Be(text.Id);
        hits[0].Snippet.Text.Should().Be("Here are the zebras you asked for.");
    }

    /// <summary>A tool part whose output arrives later is found by it; a replaced message is found by its new text only.</summary>
    [Test]
    public async Task SearchAsync_PartAndMessageRewritten_FoundByTheNewTextOnly()
    {
        var session = NewSession(BaseTime);
        await Store.SaveSessionAsync(session);
        var reply = CompletedReply(session.Id, BaseTime, "first draft about otters");
        var tool = new ToolPart { Id = AgentCoreIds.NewPartId(), CallId = "c", ToolName = "search", State = ToolState.Running };
        reply.Parts.Add(tool);
        await Store.SaveMessageAsync(reply);

        tool.State = ToolState.Completed;
        tool.Output = "found beavers";
        await Store.SavePartAsync(reply, tool);
        ((TextPart)reply.Parts[0]).Text = "final text about badgers";
        await Store.SaveMessageAsync(reply);

        (await Ids("beavers")).Should().Equal(reply.Id);
        (await Ids("badgers")).Should().Equal(reply.Id);
        (await Ids("otters")).Should().BeEmpty();
    }

    /// <summary>The messages after a session's revert point are not found; clearing the point finds them again.</summary>
    [Test]
    public async Task SearchAsync_RevertedMessages_NotFoundUntilTheRevertIsUndone()
    {
        var session = NewSession(BaseTime);
        var kept = UserMessage(session.Id, BaseTime.AddSeconds(1), "walrus kept");
        var reverted = CompletedReply(session.Id, BaseTime.AddSeconds(2), "walrus reverted");
        await Store.SaveMessageAsync(kept);
        await Store.SaveMessageAsync(reverted);
        await Store.SaveSessionAsync(session with { RevertedAfter = kept.Id });

        (await Ids("walrus")).Should().Equal(kept.Id);

        await Store.SaveSessionAsync(session);
        (await Ids("walrus")).Should().BeEquivalentTo([kept.Id, reverted.Id]);
    }

    /// <summary>Deleted messages and sessions are not found; messages of a session not (yet) saved are not found either.</summary>
    [Test]
    public async Task SearchAsync_DeletedMessagesAndSessions_NotFound()
    {
        var session = NewSession(BaseTime);
        var other = NewSession(BaseTime.AddSeconds(1));
        var first = UserMessage(session.Id, BaseTime.AddSeconds(1), "narwhal one");
        var second = UserMessage(session.Id, BaseTime.AddSeconds(2), "narwhal two");
        var elsewhere = UserMessage(other.Id, BaseTime.AddSeconds(3), "narwhal three");
        var orphan = UserMessage(AgentCoreIds.NewSessionId(), BaseTime.AddSeconds(4), "narwhal without a session");
        await Store.SaveSessionAsync(session);
        await Store.SaveSessionAsync(other);
        foreach (var message in new[] { first, second, elsewhere, orphan })
        {
            await Store.SaveMessageAsync(message);
        }

        (await Ids("narwhal")).Should().BeEquivalentTo([first.Id, second.Id, elsewhere.Id]);

        try
        {
            await Store.DeleteMessagesAsync(session.Id, [second.Id]);
            (await Ids("narwhal")).Should().BeEquivalentTo([first.Id, elsewhere.Id]);
        }
        catch (NotSupportedException)
        {
            // A store without DeleteMessagesAsync: nothing to check.
        }

        await Store.DeleteSessionAsync(session.Id);
        (await Ids("narwhal")).Should().Equal(elsewhere.Id);
        await Store.DeleteSessionAsync(other.Id);
        (await Ids("narwhal")).Should().BeEmpty();
    }

    /// <summary>A metadata filter searches only the sessions holding every pair.</summary>
    [Test]
    public async Task SearchAsync_MetadataFilter_OnlyThoseSessions()
    {
        var ada = Owned(NewSession(BaseTime), "ada");
        var grace = Owned(NewSession(BaseTime.AddSeconds(1)), "grace");
        var none = NewSession(BaseTime.AddSeconds(2));
        await SaveAllAsync(ada, grace, none);
        var adaMessage = UserMessage(ada.Id, BaseTime, "lemur facts");
        await Store.SaveMessageAsync(adaMessage);
        await Store.SaveMessageAsync(UserMessage(grace.Id, BaseTime, "lemur facts"));
        await Store.SaveMessageAsync(UserMessage(none.Id, BaseTime, "lemur facts"));

        var hits = await Store.SearchAsync(new SessionSearchQuery("lemur") { Metadata = Owner("ada") });

        hits.Select(static h => h.MessageId).Should().Equal(adaMessage.Id);
        (await Store.SearchAsync(new SessionSearchQuery("lemur") { Metadata = Owner("nobody") })).Should().BeEmpty();
        (await Store.SearchAsync(new SessionSearchQuery("lemur"))).Should().HaveCount(3);
    }

    /// <summary>Hits come best first (more occurrences in a text of the same length), equal scores newest first, at most the limit.</summary>
    [Test]
    public async Task SearchAsync_ManyHits_BestFirstThenNewestUpToTheLimit()
    {
        var session = NewSession(BaseTime);
        await Store.SaveSessionAsync(session);
        var plain = new List<SessionMessage>();
        for (int i = 0; i < 6; i++)
        {
            var message = UserMessage(session.Id, BaseTime.AddSeconds(i), "an ibis stood by the water today");
            plain.Add(message);
            await Store.SaveMessageAsync(message);
        }

        var best = UserMessage(session.Id, BaseTime.AddSeconds(10), "ibis ibis ibis and the ibis flock");
        await Store.SaveMessageAsync(best);

        var hits = await Store.SearchAsync(new SessionSearchQuery("ibis") { Limit = 4 });

        hits.Select(static h => h.MessageId).Should().Equal(best.Id, plain[5].Id, plain[4].Id, plain[3].Id);
        hits[0].Score.Should().BeGreaterThan(hits[1].Score);
        hits.Skip(1).Select(static h => h.Score).Distinct().Should().ContainSingle("equal texts score the same");
        (await Store.SearchAsync(new SessionSearchQuery("ibis"))).Should().HaveCount(7);
    }

    /// <summary>A long text gives a snippet of at most the maximum length around the first match, cut at words, with ellipses.</summary>
    [Test]
    public async Task SearchAsync_LongText_SnippetAroundTheMatchWithEllipses()
    {
        var session = NewSession(BaseTime);
        await Store.SaveSessionAsync(session);
        string text = string.Concat(Enumerable.Repeat("filler words here\n", 40)) + "the quokka smiled " + string.Concat(Enumerable.Repeat("more filler ", 40));
        await Store.SaveMessageAsync(UserMessage(session.Id, BaseTime, text));

        var snippet = (await Store.SearchAsync(new SessionSearchQuery("quokka"))).Should().ContainSingle().Which.Snippet;

        snippet.Text.Should().StartWith("…").And.EndWith("…").And.Contain("the quokka smiled").And.NotContain("\n");
        snippet.Text.Length.Should().BeLessThanOrEqualTo(SessionSearchQuery.MaxSnippetLength + 2);
        snippet.Highlights.Should().ContainSingle();
        snippet.Text.Substring(snippet.Highlights[0].Start, snippet.Highlights[0].Length).Should().Be("quokka");
    }

    /// <summary>An empty store finds nothing; a cancelled search throws.</summary>
    [Test]
    public async Task SearchAsync_EmptyStoreOrCancelled_NothingOrThrows()
    {
        (await Store.SearchAsync(new SessionSearchQuery("anything"))).Should().BeEmpty();
        await Store.SaveSessionAsync(NewSession(BaseTime));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await FluentActions.Awaiting(() => Store.SearchAsync(new SessionSearchQuery("anything"), cancelled.Token).AsTask())
            .Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => Store.SearchAsync(null!).AsTask()).Should().ThrowAsync<ArgumentNullException>();
    }

    /// <summary>A completed assistant message with one text part.</summary>
    private static SessionMessage CompletedReply(string sessionId, DateTimeOffset createdAt, string text)
    {
        var message = AssistantMessage(sessionId, AgentCoreIds.NewMessageId(), createdAt);
        message.CompletedAt = createdAt.AddSeconds(1);
        message.Parts.Add(new TextPart { Id = AgentCoreIds.NewPartId(), Text = text });
        return message;
    }

    private async Task<List<string>> Ids(string text) =>
        (await Store.SearchAsync(new SessionSearchQuery(text) { Limit = SessionSearchQuery.MaxLimit })).Select(static h => h.MessageId).ToList();
}
