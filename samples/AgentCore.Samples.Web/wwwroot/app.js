// The AgentCore web sample's page: lists sessions, creates them, and streams each turn's events
// (POST /api/sessions/{id}/chat answers with Server-Sent Events) into the conversation as they arrive. A reply survives
// the page: after a reload, a dropped connection, or on another instance, the page follows the rest of it from
// GET /api/sessions/{id}/events (see "Resuming a reply").
"use strict";

const $ = (id) => document.getElementById(id);
const state = { sessionId: null, streaming: false, answers: new Map(), follow: null };

// ---- HTTP ----------------------------------------------------------------------------------------------

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    throw await problem(response);
  }
  return response.status === 204 ? null : response.json();
}

// An Error from a problem-details answer (404 unknown session, 409 busy, 400 bad request).
async function problem(response) {
  let text = `${response.status} ${response.statusText}`;
  try {
    const details = await response.json();
    text = details.detail || details.title || text;
  } catch {
    // Not JSON: keep the status line.
  }
  return new Error(text);
}

// Reads a text/event-stream body and calls onEvent(name, data, id) for each event, in order (id: null when the event
// has none); stops reading when onEvent returns false.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    buffer = buffer.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      let id = null;
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        else if (line.startsWith("id:")) id = line.slice(3).trim();
      }
      if (data.length > 0 && onEvent(name, JSON.parse(data.join("\n")), id) === false) {
        await reader.cancel();
        return;
      }
    }
    if (done) return;
  }
}

// ---- Formatting ----------------------------------------------------------------------------------------

const formatCost = (cost) => "$" + Number(cost || 0).toFixed(4);
const totalTokens = (t) => (t ? t.input + t.output + t.cacheRead + t.cacheWrite : 0);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showError(error) {
  $("error").textContent = error ? String(error.message || error) : "";
}

// ---- Sessions ------------------------------------------------------------------------------------------

async function refreshSessions() {
  const sessions = await api("GET", "/api/sessions");
  $("sessions").replaceChildren(...sessions.map((session) => {
    const item = element("li");
    item.dataset.sessionId = session.id;
    item.classList.toggle("selected", session.id === state.sessionId);
    item.append(
      element("span", "title", session.title),
      element("span", "meta", `${formatCost(session.cost)} · ${new Date(session.updatedAt).toLocaleString()}`));
    item.addEventListener("click", () => selectSession(session.id).catch(showError));
    return item;
  }));
  const current = sessions.find((session) => session.id === state.sessionId);
  if (current) showSessionHeader(current);
}

function showSessionHeader(session) {
  $("session-title").textContent = session.title;
  const cost = $("session-cost");
  cost.textContent = `Total: ${formatCost(session.cost)}, ${totalTokens(session.tokens)} tokens`;
  cost.dataset.cost = String(session.cost);
}

async function selectSession(id) {
  showError(null);
  stopFollowing();
  const [session, messages] = await Promise.all([
    api("GET", `/api/sessions/${encodeURIComponent(id)}`),
    api("GET", `/api/sessions/${encodeURIComponent(id)}/messages`),
  ]);
  state.sessionId = id;
  rememberSession(id);
  showSessionHeader(session);
  // A reply without completedAt is still being written (here, after a reload, or on another instance): its events
  // are replayed from its start, so it is not rendered from the store.
  const open = messages.find((message) => message.role === "assistant" && !message.completedAt);
  $("messages").replaceChildren(...messages.filter((message) => message !== open).map(renderMessage));
  for (const item of $("sessions").children) {
    item.classList.toggle("selected", item.dataset.sessionId === id);
  }
  setBusy(false);
  $("prompt").focus();
  if (open) {
    const node = element("div", "message assistant");
    node.dataset.messageId = open.id;
    $("messages").append(node);
    followReply(id, node, { message: open.id }).catch(showError);
  }
}

async function createSession() {
  showError(null);
  // Nothing is selected until the new session is: a message typed meanwhile cannot go to the previous one.
  stopFollowing();
  state.sessionId = null;
  for (const item of $("sessions").children) item.classList.remove("selected");
  setBusy(false);
  const session = await api("POST", "/api/sessions", {});
  await refreshSessions();
  await selectSession(session.id);
}

// ---- Messages ------------------------------------------------------------------------------------------

// A stored message (GET /api/sessions/{id}/messages, or the message of turn-completed).
function renderMessage(message) {
  const node = element("div", `message ${message.role}`);
  node.dataset.messageId = message.id;
  for (const part of message.parts) {
    if (part.type === "text") textPart(node, part.id).textContent = part.text;
    else if (part.type === "tool") showTool(node, part);
  }
  if (message.role === "assistant") finishAssistant(node, message);
  return node;
}

function textPart(node, partId) {
  let part = node.querySelector(`.text[data-part-id="${partId}"]`);
  if (!part) {
    part = element("span", "text");
    part.dataset.partId = partId;
    node.insertBefore(part, node.querySelector(".footer"));
  }
  return part;
}

function showTool(node, part) {
  let tool = node.querySelector(`.tool[data-part-id="${part.id}"]`);
  if (!tool) {
    tool = element("div", "tool");
    tool.dataset.partId = part.id;
    node.insertBefore(tool, node.querySelector(".footer"));
  }
  const status = String(part.state).toLowerCase();
  tool.dataset.state = status;
  const result = part.error || part.output;
  tool.textContent = `tool ${part.toolName} (${status})` + (result ? `: ${result}` : "");
  if (status === "awaitingapproval") {
    // The turn stopped before running this call: Approve or Deny continues it (POST /api/sessions/{id}/approvals).
    tool.dataset.callId = part.callId;
    const approve = element("button", "approve", "Approve");
    const deny = element("button", "deny", "Deny");
    approve.type = deny.type = "button";
    approve.addEventListener("click", () => answer(part.callId, true).catch(showError));
    deny.addEventListener("click", () => answer(part.callId, false).catch(showError));
    tool.append(" ", approve, " ", deny);
  }
}

// Records an answer; once every waiting call on the page has one, sends them all (AgentCore wants them together).
async function answer(callId, approved) {
  if (state.streaming) return;
  state.answers.set(callId, { callId, approved, reason: approved ? null : "denied in the web page" });
  for (const button of document.querySelectorAll(`.tool[data-call-id="${callId}"] button`)) button.disabled = true;
  const waiting = [...document.querySelectorAll('.tool[data-state="awaitingapproval"]')].map((t) => t.dataset.callId);
  if (!waiting.every((id) => state.answers.has(id))) return;
  const answers = waiting.map((id) => state.answers.get(id));
  state.answers.clear();
  await stream(`/api/sessions/${encodeURIComponent(state.sessionId)}/approvals`, { answers }, null);
}

function footer(node) {
  let foot = node.querySelector(".footer");
  if (!foot) {
    foot = element("div", "footer");
    node.append(foot);
  }
  return foot;
}

function finishAssistant(node, message) {
  node.dataset.complete = "true";
  node.dataset.cost = String(message.cost);
  footer(node).textContent = `${message.modelId || ""} · ${totalTokens(message.tokens)} tokens · ${formatCost(message.cost)}`;
  if (message.error) node.append(element("div", "failure", message.error.message));
}

// Applies one streamed event of a turn to the assistant's message element.
function applyEvent(node, name, data) {
  switch (name) {
    case "text-delta":
      node.dataset.messageId = data.messageId;
      textPart(node, data.partId).textContent += data.text;
      node.dataset.deltas = String(Number(node.dataset.deltas || 0) + 1);
      break;
    case "tool-call-updated":
      // A call of an earlier message (one that waited for approval) updates there; this turn's calls update here.
      showTool(document.querySelector(`.message[data-message-id="${data.messageId}"]`) || node, data.part);
      break;
    case "step-finished":
      footer(node).textContent = `step ${data.step}: ${totalTokens(data.tokens)} tokens, ${formatCost(data.cost)}`;
      break;
    case "retrying":
      footer(node).textContent = `retrying (attempt ${data.attempt}): ${data.reason}`;
      break;
    case "compaction-started":
      footer(node).textContent = "compacting the conversation…";
      break;
    case "turn-completed":
      node.dataset.exitReason = data.exitReason;
      finishAssistant(node, data.message);
      break;
    case "error":
      node.append(element("div", "failure", data.detail || data.title));
      break;
  }
}

function send(text) {
  return stream(`/api/sessions/${encodeURIComponent(state.sessionId)}/chat`, { text }, element("div", "message user", text));
}

// Posts a turn (a message, or approval answers) and streams its events into a new assistant message. The turn is
// detached: it goes on if the page leaves; if the connection drops, the rest is followed from the last event id.
async function stream(path, body, user) {
  showError(null);
  const messages = $("messages");
  const assistant = element("div", "message assistant");
  assistant.dataset.streaming = "true";
  messages.append(...(user ? [user] : []), assistant);
  setBusy(true);
  const sessionId = state.sessionId;
  let lastId = null;
  let completed = false;
  try {
    const response = await fetch(path + "?detached=true", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      user?.remove();
      assistant.remove();
      throw await problem(response);
    }
    try {
      await readEvents(response, (name, data, id) => {
        if (id !== null) lastId = id;
        applyEvent(assistant, name, data);
        completed ||= name === "turn-completed";
        messages.scrollTop = messages.scrollHeight;
      });
    } catch (error) {
      if (!(error instanceof TypeError) || lastId === null) throw error;
    }
    if (!completed && lastId !== null && state.sessionId === sessionId) {
      // The connection dropped mid-reply (a network error, or the server went away): the turn goes on without us.
      await followReply(sessionId, assistant, { after: lastId });
      return;
    }
  } finally {
    delete assistant.dataset.streaming;
    setBusy(false);
  }
  await refreshSessions();
}

// ---- Resuming a reply ----------------------------------------------------------------------------------

const sessionKey = "agentcore-session";

// The selected session survives a reload of the page (sessionStorage: this tab only).
function rememberSession(id) {
  try {
    sessionStorage.setItem(sessionKey, id);
  } catch {
    // Storage disabled: a reload starts without a selection.
  }
}

function rememberedSession() {
  try {
    return sessionStorage.getItem(sessionKey);
  } catch {
    return null;
  }
}

function stopFollowing() {
  state.follow?.abort();
  state.follow = null;
}

// Follows a reply with GET /api/sessions/{id}/events into `node` until its turn completes: after `position.after`, the
// id of the last event the node has rendered (sent as Last-Event-ID), or from the start of the stored open reply
// `position.message`. A dropped connection is followed again from the last id rendered, so no event is shown twice
// and none is lost; "reset" (what was missed is no longer kept) reloads the session from the store.
async function followReply(sessionId, node, position) {
  stopFollowing();
  const controller = new AbortController();
  state.follow = controller;
  let after = position.after ?? null;
  node.dataset.streaming = "true";
  setBusy(true);
  let outcome = null;
  try {
    for (let attempt = 0; outcome === null; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 250 * attempt)));
      if (controller.signal.aborted) return;
      const headers = { Accept: "text/event-stream" };
      let query = "";
      if (after !== null) headers["Last-Event-ID"] = after;
      else if (position.message) query = `?message=${encodeURIComponent(position.message)}`;
      try {
        const response = await fetch(`/api/sessions/${encodeURIComponent(sessionId)}/events${query}`, { headers, signal: controller.signal });
        if (!response.ok) throw await problem(response);
        await readEvents(response, (name, data, id) => {
          if (name === "reset") {
            outcome = "reset";
            return false;
          }
          if (id !== null) after = id;
          applyEvent(node, name, data);
          $("messages").scrollTop = $("messages").scrollHeight;
          if (name === "turn-completed") {
            outcome = "completed";
            return false;
          }
          return true;
        });
      } catch (error) {
        if (controller.signal.aborted) return;
        if (!(error instanceof TypeError)) throw error;
        // A network error: connect again from the last id rendered.
      }
    }
  } finally {
    if (state.follow === controller) {
      state.follow = null;
      delete node.dataset.streaming;
      setBusy(false);
    }
  }
  if (outcome === "reset") await selectSession(sessionId);
  else await refreshSessions();
}

function setBusy(busy) {
  state.streaming = busy;
  const noSession = state.sessionId === null;
  $("prompt").disabled = noSession;
  $("send").disabled = noSession || busy;
  $("abort").hidden = !busy;
}

// ---- Wiring --------------------------------------------------------------------------------------------

$("new-session").addEventListener("click", () => createSession().catch(showError));

$("chat").addEventListener("submit", (event) => {
  event.preventDefault();
  const prompt = $("prompt");
  const text = prompt.value.trim();
  if (!text || state.streaming || state.sessionId === null) return;
  prompt.value = "";
  send(text).catch(showError);
});

$("prompt").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("chat").requestSubmit();
  }
});

$("abort").addEventListener("click", () =>
  api("POST", `/api/sessions/${encodeURIComponent(state.sessionId)}/abort`).catch(showError));

async function start() {
  const info = await api("GET", "/api/info");
  const model = $("model-info");
  model.textContent = `Model: ${info.model}. ${info.description}`;
  model.classList.toggle("offline", info.offline);

  // Titles are generated in the background after a session's first turn: refresh the list when sessions change.
  const changes = new EventSource("/api/events");
  for (const name of ["session-created", "session-updated", "session-deleted"]) {
    changes.addEventListener(name, () => refreshSessions().catch(showError));
  }

  await refreshSessions();
  const remembered = rememberedSession();
  if (remembered && $("sessions").querySelector(`li[data-session-id="${CSS.escape(remembered)}"]`)) {
    await selectSession(remembered);
  }
  document.body.dataset.ready = "true";
}

start().catch(showError);
