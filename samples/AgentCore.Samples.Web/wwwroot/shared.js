// A shared conversation, read-only: the token comes from the link's fragment (never sent to the server in a URL) and
// goes to GET /api/shared in a header. This page offers nothing to act on and calls no other endpoint.
"use strict";

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function show() {
  const token = decodeURIComponent(location.hash.slice(1));
  const response = await fetch("/api/shared", { headers: { "X-Share-Token": token }, cache: "no-store" });
  if (!response.ok) {
    document.getElementById("title").textContent = "Not shared";
    document.getElementById("meta").textContent = "";
    document.getElementById("error").textContent = "This link is not valid, or its conversation is no longer shared.";
    return;
  }
  const shared = await response.json();
  document.title = `${shared.title} — shared conversation`;
  document.getElementById("title").textContent = shared.title;
  document.getElementById("meta").textContent = `Read-only · started ${new Date(shared.createdAt).toLocaleString()}`;
  document.getElementById("messages").replaceChildren(...shared.messages.map((message) => {
    const node = element("div", `message ${message.role}`);
    for (const tool of message.tools) node.append(element("div", "tool", `tool ${tool.name}: ${tool.output ?? "(no output)"}`));
    node.append(element("span", "text", message.text));
    return node;
  }));
}

show()
  .catch((error) => { document.getElementById("error").textContent = String(error); })
  .finally(() => { document.body.dataset.ready = "true"; });
