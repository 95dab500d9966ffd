/**
 * The fake Slack's web page (GET / on its URL): its channels as Slack shows them (header,
 * fields, the reply text, buttons, threads, updates, messages only you see), refreshed every
 * second. A click on a button, or Send in a modal, goes back to the fake Slack, which sends the
 * app the signed interaction Slack would send. No framework, no build step: one HTML string.
 */

/** The demo user the page acts as (a Slack user id, as Slack puts it in interactions). */
export const PAGE_USER_ID = "U0DEMOUSER1";

export function fakeSlackPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Fake Slack · respondent-notifier</title>
<style>
  body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0; display: flex; height: 100vh; color: #1d1c1d; }
  nav { width: 220px; background: #3f0e40; color: #fff; padding: 12px; overflow-y: auto; }
  nav h1 { font-size: 16px; margin: 0 0 12px; }
  nav button { display: block; width: 100%; text-align: left; background: none; border: 0; color: #cfc3cf; padding: 4px 6px; cursor: pointer; font-size: 14px; }
  nav button.active { background: #1164a3; color: #fff; border-radius: 4px; }
  main { flex: 1; overflow-y: auto; padding: 16px 24px; }
  .message { border-bottom: 1px solid #eee; padding: 8px 0; }
  .meta { color: #616061; font-size: 12px; }
  .thread { margin-left: 28px; border-left: 3px solid #ddd; padding-left: 12px; }
  .header { font-weight: 700; font-size: 17px; margin: 4px 0; }
  .section { margin: 4px 0; white-space: pre-wrap; }
  .fields { display: grid; grid-template-columns: 1fr 1fr; gap: 4px 16px; margin: 4px 0; }
  .context { color: #616061; font-size: 13px; margin: 4px 0; }
  blockquote { border-left: 4px solid #ddd; margin: 2px 0; padding-left: 8px; color: #454245; }
  .actions button { margin: 4px 6px 4px 0; padding: 4px 12px; border: 1px solid #bbb; border-radius: 4px; background: #fff; cursor: pointer; }
  .actions button.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
  .ephemeral { background: #f8f8f8; border-left: 3px solid #1264a3; padding-left: 8px; }
  .mention { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
  #modal-backdrop { position: fixed; inset: 0; background: rgba(0,0,0,.4); display: none; align-items: center; justify-content: center; }
  #modal { background: #fff; border-radius: 8px; width: 520px; padding: 16px 20px; }
  #modal h2 { margin: 0 0 12px; font-size: 18px; }
  #modal textarea { width: 100%; min-height: 110px; font: inherit; box-sizing: border-box; }
  #modal .error { color: #e01e5a; font-size: 13px; }
  #modal footer { text-align: right; margin-top: 12px; }
  #modal footer button { margin-left: 8px; padding: 6px 14px; }
  .empty { color: #616061; }
</style>
</head>
<body>
<nav><h1>Fake Slack</h1><div id="channels"></div></nav>
<main id="messages"><p class="empty">No messages yet: alerts appear here as the notifier posts them.</p></main>
<div id="modal-backdrop"><form id="modal"></form></div>
<script>
const USER = ${JSON.stringify(PAGE_USER_ID)};
let state = { channels: [], views: [] };
let current = null;
let shownView = null;
let shownKey = null;

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** Slack mrkdwn, enough for what the notifier writes: quotes, bold, italics, links, mentions, dates. */
function mrkdwn(text) {
  const lines = String(text).split("\\n").map((line) => {
    const quoted = line.startsWith("&gt; ") || line.startsWith("> ");
    let html = escapeHtml(line.replace(/^> /, ""));
    html = html.replace(/&lt;!date\\^\\d+\\^[^|]*\\|([^&]*)&gt;/g, "$1");
    html = html.replace(/&lt;@([UW][A-Z0-9]+)(\\|[^&]*)?&gt;/g, '<span class="mention">@$1</span>');
    html = html.replace(/&lt;#([CG][A-Z0-9]+)(\\|[^&]*)?&gt;/g, '<span class="mention">#$1</span>');
    html = html.replace(/&lt;!(here|channel|everyone)&gt;/g, '<span class="mention">@$1</span>');
    html = html.replace(/&lt;(https?:[^|&]+)\\|([^&]*)&gt;/g, '<a href="$1" target="_blank" rel="noopener">$2</a>');
    html = html.replace(/\\*([^*]+)\\*/g, "<b>$1</b>").replace(/(^|\\s)_([^_]+)_/g, "$1<i>$2</i>");
    return quoted ? "<blockquote>" + html + "</blockquote>" : html;
  });
  return lines.join("\\n");
}

function textOf(object) {
  if (!object) return "";
  return object.type === "mrkdwn" ? mrkdwn(object.text) : escapeHtml(object.text);
}

function renderBlocks(blocks, source) {
  return blocks.map((block) => {
    if (block.type === "header") return '<div class="header">' + textOf(block.text) + "</div>";
    if (block.type === "section") {
      const fields = block.fields ? '<div class="fields">' + block.fields.map((f) => "<div>" + textOf(f) + "</div>").join("") + "</div>" : "";
      return (block.text ? '<div class="section">' + textOf(block.text) + "</div>" : "") + fields;
    }
    if (block.type === "context") return '<div class="context">' + (block.elements || []).map(textOf).join(" · ") + "</div>";
    if (block.type === "divider") return "<hr>";
    if (block.type === "actions") {
      return '<div class="actions">' + (block.elements || []).filter((e) => e.type === "button").map((button) => {
        if (button.url) return '<button type="button" onclick="window.open(' + escapeHtml(JSON.stringify(button.url)) + ')">' + escapeHtml(button.text.text) + "</button>";
        return '<button type="button" class="' + (button.style === "primary" ? "primary" : "") + '" data-action="' + escapeHtml(button.action_id) + '" data-source="' + escapeHtml(JSON.stringify(source)) + '">' + escapeHtml(button.text.text) + "</button>";
      }).join("") + "</div>";
    }
    return "";
  }).join("");
}

function renderMessage(message, source) {
  const body = message.blocks && message.blocks.length > 0 ? renderBlocks(message.blocks, source) : '<div class="section">' + mrkdwn(message.text) + "</div>";
  const label = message.ephemeral ? " · only visible to you" : message.edited ? " · (edited)" : "";
  return '<div class="message' + (message.ephemeral ? " ephemeral" : "") + '" data-ts="' + escapeHtml(message.ts || "") + '"><div class="meta">respondent-notifier' + label + "</div>" + body + "</div>";
}

function render() {
  const nav = document.getElementById("channels");
  if (!current && state.channels.length > 0) current = state.channels[0].id;
  nav.innerHTML = state.channels.map((c) => '<button type="button" data-channel="' + escapeHtml(c.id) + '" class="' + (c.id === current ? "active" : "") + '"># ' + escapeHtml(c.id) + "</button>").join("");
  const channel = state.channels.find((c) => c.id === current);
  const main = document.getElementById("messages");
  if (!channel) return;
  const top = channel.messages.filter((m) => !m.threadTs);
  main.innerHTML = top.map((m) => {
    const replies = channel.messages.filter((r) => r.threadTs === m.ts);
    const ephemerals = channel.ephemerals.filter((e) => e.threadTs === m.ts);
    const thread = replies.concat(ephemerals);
    return renderMessage(m, { channel: channel.id, ts: m.ts }) +
      (thread.length > 0 ? '<div class="thread" data-thread="' + escapeHtml(m.ts) + '">' + thread.map((r) => renderMessage(r, r.ephemeral ? { ephemeral: r.index } : { channel: channel.id, ts: r.ts })).join("") + "</div>" : "");
  }).join("") + channel.ephemerals.filter((e) => !e.threadTs).map((e) => renderMessage(e, { ephemeral: e.index })).join("");
  renderModal();
}

function renderModal() {
  const open = state.views.find((v) => v.user === USER && !v.closed);
  const backdrop = document.getElementById("modal-backdrop");
  if (!open) {
    backdrop.style.display = "none";
    shownView = null;
    shownKey = null;
    return;
  }
  const key = open.viewId + JSON.stringify(open.errors || {});
  if (shownKey === key) return;
  const typed = shownView === open.viewId ? Array.from(document.querySelectorAll("#modal textarea")).map((a) => a.value) : [];
  shownView = open.viewId;
  shownKey = key;
  const view = open.view;
  const form = document.getElementById("modal");
  form.innerHTML = "<h2>" + escapeHtml(view.title.text) + "</h2>" + (view.blocks || []).map((block) => {
    if (block.type === "input") {
      const error = open.errors && open.errors[block.block_id] ? '<div class="error">' + escapeHtml(open.errors[block.block_id]) + "</div>" : "";
      return "<label>" + escapeHtml(block.label.text) + '<textarea name="' + escapeHtml(block.block_id + "." + block.element.action_id) + '" placeholder="' + escapeHtml((block.element.placeholder || {}).text || "") + '"></textarea></label>' + error;
    }
    return renderBlocks([block], {});
  }).join("") + '<footer><button type="button" id="modal-close">' + escapeHtml((view.close || { text: "Cancel" }).text) + '</button><button type="submit" id="modal-submit">' + escapeHtml((view.submit || { text: "Submit" }).text) + "</button></footer>";
  backdrop.style.display = "flex";
  form.querySelectorAll("textarea").forEach((area, index) => {
    if (typed[index] !== undefined) area.value = typed[index];
  });
  const area = form.querySelector("textarea");
  if (area) area.focus();
}

async function post(path, body) {
  const answer = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return answer.json();
}

async function refresh() {
  try {
    const answer = await fetch("/ui/state");
    state = await answer.json();
    render();
  } catch {
    // The fake Slack stopped; keep showing what was there.
  }
}

document.addEventListener("click", async (event) => {
  const target = event.target;
  if (!(target instanceof HTMLElement)) return;
  if (target.dataset.channel) {
    current = target.dataset.channel;
    render();
  } else if (target.dataset.action) {
    await post("/ui/click", { ...JSON.parse(target.dataset.source), actionId: target.dataset.action, user: USER });
    await refresh();
  } else if (target.id === "modal-close") {
    await post("/ui/close", { viewId: shownView });
    await refresh();
  }
});

document.getElementById("modal").addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = {};
  for (const area of document.querySelectorAll("#modal textarea")) {
    const [blockId, actionId] = area.name.split(".");
    values[blockId] = { ...(values[blockId] || {}), [actionId]: area.value };
  }
  document.getElementById("modal-submit").disabled = true;
  await post("/ui/submit", { viewId: shownView, values, user: USER });
  const button = document.getElementById("modal-submit");
  if (button) button.disabled = false;
  await refresh();
});

refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`;
}
