using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentCore.Samples.Web.Tests.Browser;

/// <summary>
/// A minimal client of the Chrome DevTools protocol over one page's WebSocket: commands with ids and their answers,
/// plus the page's uncaught JavaScript exceptions and console errors, collected for the test to check.
/// </summary>
internal sealed class DevToolsSession : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly ConcurrentQueue<string> _pageErrors = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonElement>> _eventWaiters = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private Task _receiving = Task.CompletedTask;
    private int _nextId;

    private DevToolsSession(ClientWebSocket socket) => _socket = socket;

    /// <summary>Returns and forgets the page's uncaught exceptions and <c>console.error</c> calls so far, in order.</summary>
    public List<string> TakePageErrors()
    {
        var errors = new List<string>();
        while (_pageErrors.TryDequeue(out string? error))
        {
            errors.Add(error);
        }

        return errors;
    }

    public static async Task<DevToolsSession> ConnectAsync(Uri webSocketUrl)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        using var timeout = new CancellationTokenSource(CommandTimeout);
        await socket.ConnectAsync(webSocketUrl, timeout.Token);
        var session = new DevToolsSession(socket);
        session._receiving = Task.Run(session.ReceiveLoopAsync);
        await session.SendAsync("Page.enable");
        await session.SendAsync("Runtime.enable");
        return session;
    }

    /// <summary>Sends a command and returns its <c>result</c>; a protocol error throws.</summary>
    public async Task<JsonElement> SendAsync(string method, object? parameters = null)
    {
        int id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        var message = new JsonObject { ["id"] = id, ["method"] = method };
        if (parameters is not null)
        {
            message["params"] = JsonSerializer.SerializeToNode(parameters);
        }

        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(message);
        await _sending.WaitAsync();
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, _closing.Token);
        }
        finally
        {
            _sending.Release();
        }

        try
        {
            return await answer.Task.WaitAsync(CommandTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"DevTools did not answer {method} within {CommandTimeout.TotalSeconds} s.");
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Evaluates a JavaScript expression in the page (awaiting it when it is a promise) and returns its value.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new { expression, awaitPromise = true, returnByValue = true });
        if (result.TryGetProperty("exceptionDetails", out var exception))
        {
            string description = exception.TryGetProperty("exception", out var thrown) && thrown.TryGetProperty("description", out var text)
                ? text.GetString()!
                : exception.GetProperty("text").GetString()!;
            throw new InvalidOperationException($"The page threw evaluating `{expression}`: {description}");
        }

        return result.GetProperty("result").TryGetProperty("value", out var value) ? value.Clone() : default;
    }

    /// <summary>
    /// Waits, at most <paramref name="timeout"/>, until <paramref name="condition"/> (a JavaScript expression) is truthy in
    /// the page, checking it every 20 ms in the page itself; returns its value.
    /// </summary>
    public async Task<JsonElement> WaitForAsync(string condition, TimeSpan timeout, string description)
    {
        string script = $$"""
            (async () => {
              const deadline = Date.now() + {{(long)timeout.TotalMilliseconds}};
              for (;;) {
                const value = (() => {{condition}})();
                if (value) return value;
                if (Date.now() > deadline) throw new Error({{JsonSerializer.Serialize("Timed out waiting for " + description)}});
                await new Promise((resolve) => setTimeout(resolve, 20));
              }
            })()
            """;
        return await EvaluateAsync(script);
    }

    /// <summary>Clicks the middle of the element <paramref name="selector"/> with the mouse, as a person does.</summary>
    public async Task ClickAsync(string selector)
    {
        var box = await EvaluateAsync($$"""
            (() => {
              const element = document.querySelector({{JsonSerializer.Serialize(selector)}});
              if (!element) throw new Error('No element matches ' + {{JsonSerializer.Serialize(selector)}});
              element.scrollIntoView({ block: 'center' });
              const box = element.getBoundingClientRect();
              return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
            })()
            """);
        double x = box.GetProperty("x").GetDouble(), y = box.GetProperty("y").GetDouble();
        await SendAsync("Input.dispatchMouseEvent", new { type = "mouseMoved", x, y });
        await SendAsync("Input.dispatchMouseEvent", new { type = "mousePressed", x, y, button = "left", clickCount = 1 });
        await SendAsync("Input.dispatchMouseEvent", new { type = "mouseReleased", x, y, button = "left", clickCount = 1 });
    }

    /// <summary>Types text into the focused element, as a keyboard (IME) does.</summary>
    public Task TypeAsync(string text) => SendAsync("Input.insertText", new { text });

    /// <summary>Navigates to <paramref name="url"/> and waits for the new document's load event.</summary>
    public async Task NavigateAsync(Uri url)
    {
        var loaded = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_eventWaiters.TryAdd("Page.loadEventFired", loaded))
        {
            throw new InvalidOperationException("Another navigation is in progress.");
        }

        try
        {
            var result = await SendAsync("Page.navigate", new { url = url.ToString() });
            if (result.TryGetProperty("errorText", out var error))
            {
                throw new InvalidOperationException($"Navigating to {url} failed: {error.GetString()}");
            }

            await loaded.Task.WaitAsync(CommandTimeout);
        }
        finally
        {
            _eventWaiters.TryRemove("Page.loadEventFired", out _);
        }
    }

    /// <summary>A PNG screenshot of the page.</summary>
    public async Task<byte[]> ScreenshotAsync()
    {
        var result = await SendAsync("Page.captureScreenshot", new { format = "png" });
        return Convert.FromBase64String(result.GetProperty("data").GetString()!);
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var received = await _socket.ReceiveAsync(buffer, _closing.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                {
                    continue;
                }

                Dispatch(message.GetBuffer().AsMemory(0, (int)message.Length));
                message.SetLength(0);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // Closing, or the browser went away.
        }
        finally
        {
            foreach (var pending in _pending.Values)
            {
                pending.TrySetException(new InvalidOperationException("The DevTools connection closed."));
            }
        }
    }

    private void Dispatch(ReadOnlyMemory<byte> json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.TryGetProperty("id", out var id))
        {
            if (_pending.TryGetValue(id.GetInt32(), out var answer))
            {
                if (root.TryGetProperty("error", out var error))
                {
                    answer.TrySetException(new InvalidOperationException($"DevTools error: {error.GetRawText()}"));
                }
                else
                {
                    answer.TrySetResult(root.GetProperty("result").Clone());
                }
            }

            return;
        }

        string method = root.GetProperty("method").GetString()!;
        var parameters = root.GetProperty("params");
        if (_eventWaiters.TryRemove(method, out var waiter))
        {
            waiter.TrySetResult(parameters.Clone());
        }

        if (method == "Runtime.exceptionThrown")
        {
            var details = parameters.GetProperty("exceptionDetails");
            _pageErrors.Enqueue(details.TryGetProperty("exception", out var thrown) && thrown.TryGetProperty("description", out var text)
                ? text.GetString()!
                : details.GetProperty("text").GetString()!);
        }
        else if (method == "Runtime.consoleAPICalled" && parameters.GetProperty("type").GetString() == "error")
        {
            _pageErrors.Enqueue("console.error: " + string.Join(" ", parameters.GetProperty("args").EnumerateArray().Select(a =>
                a.TryGetProperty("value", out var value) ? value.ToString() : a.TryGetProperty("description", out var d) ? d.GetString() : "?")));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        try
        {
            await _receiving;
        }
        finally
        {
            _socket.Abort();
            _socket.Dispose();
            _closing.Dispose();
            _sending.Dispose();
        }
    }
}
