using AgentCore.Testing;
using FluentAssertions;
using Microsoft.Extensions.AI;
using NUnit.Framework;

namespace AgentCore.Tests.Engine;

/// <summary>The turn top to bottom: messages, parts, prompts and the tool loop.</summary>
public sealed class TurnTests
{
    [Test]
    public async Task ChatStreamingAsync_TextOnlyReply_StreamsDeltasPersistsBothMessagesAndEndsWithTurnCompleted()
    {
        await using var h = new EngineHarness();
        h.Client.Enqueue(r => r.Text("Hello, ").Text("world.").Usage(input: 100, output: 20).Finish(ChatFinishReason.Stop));
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "Say hello");

        events.OfType<TextDelta>().Select(e => e.Text).Should().Equal("Hello, ", "world.");
        events.Last().Should().BeOfType<TurnCompleted>().Which.ExitReason.Value.Should().Be("completed");
        var messages = await h.Sessions.GetMessagesAsync(session.Id);
        messages.Should().HaveCount(2);
        messages[0].Role.Should().Be(ChatRole.User);
        messages[0].Text.Should().Be("Say hello");
        messages[0].CompletedAt.Should().NotBeNull();
        messages[1].Role.Should().Be(ChatRole.Assistant);
        messages[1].Text.Should().Be("Hello, world.");
        messages[1].CompletedAt.Should().NotBeNull();
        messages[1].Error.Should().BeNull();
        messages[1].Tokens.Should().Be(new TokenUsage(100, 20, 0, 0, 0));
        messages[1].FinishReason.Should().Be("stop");
        messages[1].ProviderId.Should().Be("test");
        messages[1].ModelId.Should().Be("model-1");
        messages[1].Parts.Select(p => p.GetType()).Should().Equal(typeof(StepStartPart), typeof(TextPart), typeof(StepFinishPart));
        h.Client.Calls.Should().ContainSingle().Which.Options!.ModelId.Should().Be("model-1");
    }

    [Test]
    public async Task ChatStreamingAsync_FirstEvents_UserMessageThenOpenAssistantMessageWithModelAndTimes()
    {
        await using var h = new EngineHarness();
        h.Client.EnqueueText("ok");
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "hi");

        var user = events[0].Should().BeOfType<MessageUpdated>().Which.Message;
        user.Role.Should().Be(ChatRole.User);
        user.Text.Should().Be("hi");
        var assistant = events[1].Should().BeOfType<MessageUpdated>().Which.Message;
        assistant.Role.Should().Be(ChatRole.Assistant);
        assistant.ProviderId.Should().Be("test");
        assistant.ModelId.Should().Be("model-1");
        assistant.CreatedAt.Should().Be(h.Time.GetUtcNow());
        assistant.CompletedAt.Should().BeNull();
        assistant.Parts.Should().BeEmpty();
        string.CompareOrdinal(user.Id, assistant.Id).Should().BeNegative("the user's message sorts before the reply");
    }

    [Test]
    public async Task ChatStreamingAsync_ReasoningAndTextInManyChunks_OnePartEachPerStepAndReasoningNotSentBack()
    {
        await using var h = new EngineHarness();
        h.Client.Enqueue(r => r.Reasoning("Let me ").Reasoning("think.").TextChunks("The answer is 42.", 3));
        h.Client.EnqueueText("again");
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "question");
        await h.ChatAsync(session.Id, "next");

        events.OfType<ReasoningDelta>().Select(d => d.Text).Should().Equal("Let me ", "think.");
        events.OfType<TextDelta>().Select(d => d.PartId).Distinct().Should().ContainSingle();
        var message = (await h.Sessions.GetMessagesAsync(session.Id))[1];
        message.Parts.OfType<ReasoningPart>().Should().ContainSingle().Which.Text.Should().Be("Let me think.");
        message.Parts.OfType<TextPart>().Should().ContainSingle().Which.Text.Should().Be("The answer is 42.");
        var second = h.Client.Calls[1].Messages;
        second.SelectMany(m => m.Contents).OfType<TextReasoningContent>().Should().BeEmpty();
        second.Should().Contain(m => m.Role == ChatRole.Assistant && m.Text == "The answer is 42.");
    }

    [Test]
    public async Task ChatStreamingAsync_Prompt_IsSystemPromptThenConversationThenTheUserMessage()
    {
        await using var h = new EngineHarness(o => o.SystemPrompt = "You are a test.");
        h.Client.EnqueueText("first answer").EnqueueText("second answer");
        var session = await h.Sessions.CreateAsync();

        await h.ChatAsync(session.Id, "first question");
        await h.ChatAsync(session.Id, "second question");

        var prompt = h.Client.Calls[1].Messages;
        prompt.Select(m => (m.Role, m.Text)).Should().Equal(
            (ChatRole.System, "You are a test."),
            (ChatRole.User, "first question"),
            (ChatRole.Assistant, "first answer"),
            (ChatRole.User, "second question"));
    }

    [Test]
    public async Task ChatStreamingAsync_NoSystemPromptOption_SendsTheBuiltInOne()
    {
        await using var h = new EngineHarness();
        h.Client.EnqueueText("ok");
        var session = await h.Sessions.CreateAsync();

        await h.ChatAsync(session.Id, "hi");

        var system = h.Client.Calls[0].Messages[0];
        system.Role.Should().Be(ChatRole.System);
        system.Text.Should().Be(PromptTemplates.System).And.NotBeNullOrWhiteSpace();
    }

    [Test]
    public async Task ChatStreamingAsync_SummaryInConversation_PromptStartsFromTheSummary()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();
        var t0 = h.Time.GetUtcNow();
        await h.Store.SaveMessageAsync(Message(session.Id, ChatRole.User, "OLD QUESTION", t0));
        await h.Store.SaveMessageAsync(Message(session.Id, ChatRole.Assistant, "OLD ANSWER", t0));
        var summary = Message(session.Id, ChatRole.Assistant, "SUMMARY OF EVERYTHING", t0);
        summary.IsSummary = true;
        await h.Store.SaveMessageAsync(summary);
        await h.Store.SaveMessageAsync(Message(session.Id, ChatRole.User, "AFTER SUMMARY", t0));
        await h.Store.SaveMessageAsync(Message(session.Id, ChatRole.Assistant, "REPLY AFTER SUMMARY", t0));
        h.Client.EnqueueText("ok");

        await h.ChatAsync(session.Id, "NEW");

        var prompt = h.Client.Calls[0].Messages;
        string all = string.Join("\n", prompt.Select(m => m.Text));
        all.Should().NotContain("OLD QUESTION").And.NotContain("OLD ANSWER");
        all.Should().Contain("SUMMARY OF EVERYTHING");
        prompt[0].Role.Should().Be(ChatRole.System);
        prompt.TakeLast(3).Select(m => m.Text).Should().Equal("AFTER SUMMARY", "REPLY AFTER SUMMARY", "NEW");
    }

    [Test]
    public async Task ChatStreamingAsync_UserTextAndFile_PersistedAsPartsAndSentToTheModel()
    {
        await using var h = new EngineHarness();
        h.Client.EnqueueText("a red pixel");
        var session = await h.Sessions.CreateAsync();
        byte[] png = [0x89, 0x50, 0x4E, 0x47];

        await h.Sessions.ChatAsync(new ChatRequest
        {
            SessionId = session.Id,
            Text = "What is this?",
            Contents = [new DataContent(png, "image/png") { Name = "pixel.png" }, new UriContent(new Uri("https://example.com/a.pdf"), "application/pdf")],
        });

        var user = (await h.Sessions.GetMessagesAsync(session.Id))[0];
        user.Parts.Should().HaveCount(3);
        user.Parts[0].Should().BeOfType<TextPart>().Which.Text.Should().Be("What is this?");
        var file = user.Parts[1].Should().BeOfType<FilePart>().Which;
        (file.MediaType, file.Name).Should().Be(("image/png", "pixel.png"));
        file.Data.Should().Equal(png);
        user.Parts[2].Should().BeOfType<FilePart>().Which.Uri.Should().Be("https://example.com/a.pdf");
        var sent = h.Client.Calls[0].Messages[^1];
        sent.Role.Should().Be(ChatRole.User);
        sent.Contents.OfType<DataContent>().Should().ContainSingle().Which.Data.ToArray().Should().Equal(png);
        sent.Contents.OfType<UriContent>().Should().ContainSingle().Which.Uri.Should().Be(new Uri("https://example.com/a.pdf"));
    }

    [Test]
    public async Task ChatStreamingAsync_BadRequests_ThrowAtTheCallBeforeAnyWrite()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();

        FluentActions.Invoking(() => h.Sessions.ChatStreamingAsync(new ChatRequest { SessionId = "../x", Text = "hi" }))
            .Should().Throw<ArgumentException>().Which.Message.Should().Contain("../x");
        FluentActions.Invoking(() => h.Sessions.ChatStreamingAsync(new ChatRequest { SessionId = session.Id }))
            .Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => h.Sessions.ChatStreamingAsync(new ChatRequest { SessionId = session.Id, Text = "hi", Model = "no-slash" }))
            .Should().Throw<ArgumentException>();
        (await h.Store.GetMessagesAsync(session.Id)).Should().BeEmpty();
        h.Client.Calls.Should().BeEmpty();
    }

    [Test]
    public async Task ChatStreamingAsync_UnknownSessionOrModel_ThrowsWithoutWritingAndLeavesTheSessionFree()
    {
        await using var h = new EngineHarness();
        var session = await h.Sessions.CreateAsync();

        var missing = await EngineHarness.CaptureAsync(h.Sessions.ChatStreamingAsync(new ChatRequest { SessionId = "ses_missing", Text = "hi" }));
        var badModel = await EngineHarness.CaptureAsync(h.Sessions.ChatStreamingAsync(new ChatRequest { SessionId = session.Id, Text = "hi", Model = "test/nope" }));

        missing.Error.Should().BeOfType<SessionNotFoundException>();
        badModel.Error.Should().BeOfType<ModelNotFoundException>().Which.Available.Should().Contain("test/model-1");
        (await h.Store.GetMessagesAsync(session.Id)).Should().BeEmpty();
        h.Client.EnqueueText("fine");
        (await h.ChatAsync(session.Id, "hi")).Last().Should().BeOfType<TurnCompleted>();
    }

    [Test]
    public async Task ChatStreamingAsync_ModelInRequest_UsesThatModel()
    {
        await using var h = new EngineHarness();
        h.Client.EnqueueText("small");
        var session = await h.Sessions.CreateAsync();

        var message = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "hi", Model = "test/model-2" });

        message.ModelId.Should().Be("model-2");
        h.Client.Calls[0].Options!.ModelId.Should().Be("model-2");
        h.Client.Calls[0].Options!.MaxOutputTokens.Should().Be(1_000);
    }

    [Test]
    public async Task ChatStreamingAsync_CallerOptions_PassedToTheClient()
    {
        await using var h = new EngineHarness();
        h.Client.EnqueueText("ok");
        var session = await h.Sessions.CreateAsync();

        await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "hi", Options = new ChatOptions { Temperature = 0.25f, MaxOutputTokens = 77 } });

        h.Client.Calls[0].Options!.Temperature.Should().Be(0.25f);
        h.Client.Calls[0].Options!.MaxOutputTokens.Should().Be(77);
    }

    [Test]
    public async Task ChatAsync_Completes_ReturnsTheCompletedAssistantMessage()
    {
        await using var h = new EngineHarness();
        h.Client.Enqueue(r => r.Text("Done.").Usage(10, 2));
        var session = await h.Sessions.CreateAsync();

        var message = await h.Sessions.ChatAsync(new ChatRequest { SessionId = session.Id, Text = "go" });

        message.Role.Should().Be(ChatRole.Assistant);
        message.Text.Should().Be("Done.");
        message.CompletedAt.Should().NotBeNull();
        message.Error.Should().BeNull();
        message.Tokens.Should().Be(new TokenUsage(10, 2, 0, 0, 0));
        var stored = (await h.Sessions.GetMessagesAsync(session.Id))[1];
        message.Should().BeEquivalentTo(stored);
    }

    [Test]
    public async Task ChatStreamingAsync_ToolLoop_RunsToolsFeedsResultsBackAndAnswers()
    {
        await using var h = new EngineHarness(build: b => b.AddTool(EngineHarness.Tool("upper", s => s.ToUpperInvariant())));
        h.Client
            .Enqueue(r => r.ToolCall("call_1", "upper", new { input = "abc" }).Usage(50, 5))
            .Enqueue(r => r.ToolCall("call_2", "upper", new { input = "def" }).Usage(60, 5))
            .Enqueue(r => r.Text("ABC and DEF").Usage(70, 5));
        var session = await h.Sessions.CreateAsync();

        var events = await h.ChatAsync(session.Id, "upper-case abc then def");

        var message = events.OfType<TurnCompleted>().Single().Message;
        var tools = message.Parts.OfType<ToolPart>().ToList();
        tools.Select(t => (t.CallId, t.State, t.Output)).Should().Equal(("call_1", ToolState.Completed, "ABC"), ("call_2", ToolState.Completed, "DEF"));
        tools.Should().OnlyContain(t => t.StartedAt != null && t.EndedAt != null);
        tools[0].Arguments!.Value.GetProperty("input").GetString().Should().Be("abc");
        message.Text.Should().Be("ABC and DEF");
        message.Tokens.Should().Be(new TokenUsage(180, 15, 0, 0, 0));
        message.FinishReason.Should().Be("stop");
        message.Parts.Select(p => p.GetType()).Should().Equal(
            typeof(StepStartPart), typeof(ToolPart), typeof(StepFinishPart),
            typeof(StepStartPart), typeof(ToolPart), typeof(StepFinishPart),
            typeof(StepStartPart), typeof(TextPart), typeof(StepFinishPart));
        message.Parts.OfType<StepFinishPart>().Select(p => p.FinishReason).Should().Equal("tool_calls", "tool_calls", "stop");
        events.OfType<StepFinished>().Select(s => s.Step).Should().Equal(1, 2, 3);
        events.OfType<ToolCallUpdated>().Where(e => e.Part.CallId == "call_1").Select(e => e.Part.State)
            .Should().Equal(ToolState.Pending, ToolState.Running, ToolState.Completed);

        h.Client.Calls.Should().HaveCount(3);
        h.Client.Calls[0].Options!.Tools.Should().ContainSingle().Which.Name.Should().Be("upper");
        var third = h.Client.Calls[2].Messages;
        third.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Select(r => (r.CallId, r.Result as string))
            .Should().Equal(("call_1", "ABC"), ("call_2", "DEF"));
        (await h.Sessions.GetMessagesAsync(session.Id))[1].Should().BeEquivalentTo(message);
    }

    [Test]
    public async Task ChatStreamingAsync_SecondTurn_PromptHoldsTheFirstTurnsToolCallsAndResultsInOrder()
    {
        await using var h = new EngineHarness(build: b => b.AddTool(EngineHarness.Tool("upper", s => s.ToUpperInvariant())));
        h.Client
            .Enqueue(r => r.Text("Working.").ToolCall("call_a", "upper", new { input = "a" }).ToolCall("call_b", "upper", new { input = "b" }))
            .Enqueue(r => r.ToolCall("call_c", "upper", new { input = "c" }))
            .Enqueue(r => r.Text("A, B and C."))
            .Enqueue(r => r.Text("Second answer."));
        var session = await h.Sessions.CreateAsync();

        await h.ChatAsync(session.Id, "first");
        await h.ChatAsync(session.Id, "second");

        var prompt = h.Client.Calls[3].Messages;
        prompt.Select(m => m.Role).Should().Equal(
            ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant, ChatRole.User);
        prompt[1].Text.Should().Be("first");
        prompt[2].Contents.Select(Describe).Should().Equal("text:Working.", "call:call_a:upper:a", "call:call_b:upper:b");
        prompt[3].Contents.Select(Describe).Should().Equal("result:call_a:A", "result:call_b:B");
        prompt[4].Contents.Select(Describe).Should().Equal("call:call_c:upper:c");
        prompt[5].Contents.Select(Describe).Should().Equal("result:call_c:C");
        prompt[6].Contents.Select(Describe).Should().Equal("text:A, B and C.");
        prompt[7].Text.Should().Be("second");
    }

    internal static string Describe(AIContent content) => content switch
    {
        TextContent t => "text:" + t.Text,
        FunctionCallContent c => $"call:{c.CallId}:{c.Name}:{ArgumentText(c.Arguments?["input"])}",
        FunctionResultContent r => $"result:{r.CallId}:{r.Result}",
        _ => content.GetType().Name,
    };

    private static string? ArgumentText(object? value) => value switch
    {
        System.Text.Json.JsonElement json => json.ValueKind == System.Text.Json.JsonValueKind.String ? json.GetString() : json.GetRawText(),
        _ => value?.ToString(),
    };

    internal static SessionMessage Message(string sessionId, ChatRole role, string text, DateTimeOffset at) => new()
    {
        Id = Identifier.Create(IdKind.Message),
        SessionId = sessionId,
        Role = role,
        CreatedAt = at,
        CompletedAt = at,
        Parts = [new TextPart { Id = Identifier.Create(IdKind.Part), Text = text }],
    };
}
