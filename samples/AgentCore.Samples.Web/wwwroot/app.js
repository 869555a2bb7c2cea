// The AgentCore web sample's page: lists sessions, creates them, and streams each turn's events
// (POST /api/sessions/{id}/chat answers with Server-Sent Events) into the conversation as they arrive.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { sessionId: null, streaming: false, answers: new Map() };

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

// Reads a text/event-stream body and calls onEvent(name, data) for each event, in order.
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
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length > 0) onEvent(name, JSON.parse(data.join("\n")));
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
  const [session, messages] = await Promise.all([
    api("GET", `/api/sessions/${encodeURIComponent(id)}`),
    api("GET", `/api/sessions/${encodeURIComponent(id)}/messages`),
  ]);
  state.sessionId = id;
  showSessionHeader(session);
  $("messages").replaceChildren(...messages.map(renderMessage));
  for (const item of $("sessions").children) {
    item.classList.toggle("selected", item.dataset.sessionId === id);
  }
  setBusy(false);
  $("prompt").focus();
}

async function createSession() {
  showError(null);
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

// Posts a turn (a message, or approval answers) and streams its events into a new assistant message.
async function stream(path, body, user) {
  showError(null);
  const messages = $("messages");
  const assistant = element("div", "message assistant");
  assistant.dataset.streaming = "true";
  messages.append(...(user ? [user] : []), assistant);
  setBusy(true);
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      user?.remove();
      assistant.remove();
      throw await problem(response);
    }
    await readEvents(response, (name, data) => {
      applyEvent(assistant, name, data);
      messages.scrollTop = messages.scrollHeight;
    });
  } finally {
    delete assistant.dataset.streaming;
    setBusy(false);
  }
  await refreshSessions();
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
  document.body.dataset.ready = "true";
}

start().catch(showError);
