// The search box and the share link of the web sample's page (app.js holds the rest; its api, element, showError,
// selectSession and state are shared with this script).
//   GET    /api/search?q=words           the best hits across all sessions, each with a snippet and its matched words
//   POST   /api/sessions/{id}/share      a new share link for the session (the token is shown once)
//   DELETE /api/sessions/{id}/share      revoke it: the link stops working
"use strict";

// ---- Search --------------------------------------------------------------------------------------------

// The snippet's text with each matched word in a <mark>, built from text nodes (the text is never parsed as HTML).
function markedSnippet(snippet) {
  const node = element("span", "snippet");
  let at = 0;
  for (const { start, length } of snippet.highlights) {
    node.append(document.createTextNode(snippet.text.slice(at, start)), element("mark", null, snippet.text.slice(start, start + length)));
    at = start + length;
  }
  node.append(document.createTextNode(snippet.text.slice(at)));
  return node;
}

async function search(text) {
  showError(null);
  const results = $("search-results");
  const hits = await api("GET", `/api/search?q=${encodeURIComponent(text)}`);
  results.replaceChildren(...hits.map((hit) => {
    const item = element("li");
    item.dataset.sessionId = hit.sessionId;
    item.dataset.messageId = hit.messageId;
    const where = hit.source === "toolOutput" ? "tool output" : hit.role;
    item.append(element("span", "where", `${hit.sessionTitle} · ${where}`), markedSnippet(hit.snippet));
    item.addEventListener("click", () => openHit(hit).catch(showError));
    return item;
  }));
  if (hits.length === 0) results.append(element("li", "none", `Nothing found for "${text}".`));
  results.hidden = false;
}

// Opens the hit's session and brings its message into view, marked.
async function openHit(hit) {
  await selectSession(hit.sessionId);
  const message = [...$("messages").children].find((node) => node.dataset.messageId === hit.messageId);
  if (message) {
    message.classList.add("found");
    message.scrollIntoView({ block: "center" });
  }
}

$("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("search-text").value.trim();
  if (text) search(text).catch(showError);
  else $("search-results").hidden = true;
});

// ---- Share ---------------------------------------------------------------------------------------------

// The session the link shown was made for (null when none is shown).
let sharedSessionId = null;

function showShareLink(url) {
  sharedSessionId = url === null ? null : state.sessionId;
  const field = $("share-url");
  field.value = url ?? "";
  field.hidden = url === null;
  $("revoke").hidden = url === null;
}

$("share").addEventListener("click", async () => {
  try {
    showError(null);
    if (!state.sessionId) throw new Error("Select a session to share first.");
    const link = await api("POST", `/api/sessions/${encodeURIComponent(state.sessionId)}/share`);
    showShareLink(new URL(link.url, location.href).href);
    $("share-url").select();
  } catch (error) {
    showError(error);
  }
});

$("revoke").addEventListener("click", async () => {
  try {
    showError(null);
    await api("DELETE", `/api/sessions/${encodeURIComponent(state.sessionId)}/share`);
    showShareLink(null);
  } catch (error) {
    showError(error);
  }
});

// A link is shown only for the session it was made for: hide it when another session is opened (the header changes).
new MutationObserver(() => {
  if (sharedSessionId !== null && sharedSessionId !== state.sessionId) showShareLink(null);
}).observe($("session-title"), { childList: true, characterData: true, subtree: true });
