// The demo page: a small Slack client for one channel. Plain JS, no build step, no network
// beyond the page's own server (/api/*), which turns every action into a signed Slack request.
"use strict";

const POLL_MS = 700;
const ui = { data: null, lastJson: "", thread: null, viewKey: "", modalView: null, busy: false };
const $ = (id) => document.getElementById(id);

// ---- talking to the page's server ----------------------------------------------------------
async function api(path, body, isForm) {
  const options = { method: "POST" };
  if (isForm) options.body = body;
  else {
    options.headers = { "Content-Type": "application/json" };
    options.body = JSON.stringify(body || {});
  }
  let answer = {};
  try {
    const response = await fetch(path, options);
    answer = await response.json().catch(() => ({}));
    if (!response.ok || answer.ok === false) toast(answer.error || `request failed (${response.status})`);
  } catch (error) {
    toast(`the demo server did not answer: ${error}`);
  }
  setTimeout(poll, 150);
  return answer;
}
async function poll() {
  if (ui.busy) return;
  ui.busy = true;
  try {
    const response = await fetch("/api/state", { cache: "no-store" });
    const text = await response.text();
    if (text !== ui.lastJson) {
      ui.lastJson = text;
      ui.data = JSON.parse(text);
      render();
    }
  } catch (error) {
    // the demo is stopping; keep trying quietly
  } finally {
    ui.busy = false;
  }
}

// ---- messages ----------------------------------------------------------------------------------
function author(message) {
  const id = message.user;
  const isBot = Boolean(message.bot_id) || (ui.data.users[id] && ui.data.users[id].is_bot);
  return { name: userName(id || ui.data.bot_user), isBot };
}
function hoverMenu(message) {
  const menu = el("div", { class: "menu", hidden: true });
  for (const shortcut of ui.data.shortcuts) {
    menu.append(el("button", {
      type: "button",
      onclick: async () => {
        holder.classList.remove("open");
        menu.hidden = true;
        await api("/api/shortcut", { ts: message.ts, callback_id: shortcut.callback_id });
      },
    }, shortcut.name));
  }
  const holder = el("div", { class: "hover-menu" },
    el("button", { type: "button", title: "More actions", "aria-label": "More actions",
      onclick: () => { menu.hidden = !menu.hidden; holder.classList.toggle("open", !menu.hidden); } }, "\u22EE"),
    menu);
  return holder;
}
function messageRow(message, { ephemeral = false, inThread = false } = {}) {
  const who = ephemeral ? { name: userName(ui.data.bot_user), isBot: true } : author(message);
  const where = { ts: message.ts, ephemeral };
  const body = el("div", { class: "msg-body" },
    ephemeral ? el("div", { class: "ephemeral-note" }, "Only visible to you") : null,
    el("div", { class: "meta" },
      el("span", { class: "author" }, who.name),
      who.isBot ? el("span", { class: "app-badge" }, "APP") : null,
      el("span", { class: "time" }, clock(message.ts)),
      message.edited ? el("span", { class: "edited" }, "(edited)") : null),
    blocksOf(where, message));
  if (!inThread && message.reply_count) {
    const count = message.reply_count;
    body.append(el("button", { class: "replies", type: "button", onclick: () => openThread(message.ts) },
      `${count} ${count === 1 ? "reply" : "replies"}`));
  }
  const row = el("div", { class: `msg${ephemeral ? " ephemeral" : ""}`, "data-ts": message.ts },
    el("div", { class: `avatar${who.isBot ? " bot" : ""}` }, who.name.slice(0, 1).toUpperCase()), body);
  if (!ephemeral) row.append(hoverMenu(message));
  return row;
}
function isReply(message) {
  return message.thread_ts && message.thread_ts !== message.ts;
}
function renderChannel() {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const rows = [];
  for (const message of ui.data.messages) {
    if (!isReply(message)) rows.push({ ts: Number(message.ts), node: () => messageRow(message) });
  }
  for (const ephemeral of ui.data.ephemerals) {
    if (!ephemeral.thread_ts) rows.push({ ts: Number(ephemeral.ts), node: () => messageRow(ephemeral, { ephemeral: true }) });
  }
  rows.sort((a, b) => a.ts - b.ts);
  if (!rows.length) {
    box.replaceChildren(el("div", { class: "empty" },
      "Nothing here yet. Type ", el("code", {}, "/kibana health"), " below, or send a sample alert."));
    return;
  }
  box.replaceChildren(...rows.map((row) => row.node()));
  if (atBottom) box.scrollTop = box.scrollHeight;
}
function openThread(ts) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  ui.thread = ts;
  $("thread-panel").hidden = false;
  renderThread();
  if (atBottom) box.scrollTop = box.scrollHeight; // the channel got narrower: stay at the newest message
}
function renderThread() {
  const panel = $("thread-panel");
  if (!ui.thread) { panel.hidden = true; return; }
  const parent = ui.data.messages.find((m) => m.ts === ui.thread);
  if (!parent) { ui.thread = null; panel.hidden = true; return; }
  const replies = ui.data.messages.filter((m) => isReply(m) && m.thread_ts === ui.thread)
    .map((m) => ({ ts: Number(m.ts), node: () => messageRow(m, { inThread: true }) }));
  for (const ephemeral of ui.data.ephemerals) {
    if (ephemeral.thread_ts === ui.thread) {
      replies.push({ ts: Number(ephemeral.ts), node: () => messageRow(ephemeral, { ephemeral: true, inThread: true }) });
    }
  }
  replies.sort((a, b) => a.ts - b.ts);
  const count = replies.length;
  $("thread-messages").replaceChildren(messageRow(parent, { inThread: true }),
    el("div", { class: "thread-count" }, `${count} ${count === 1 ? "reply" : "replies"}`),
    ...replies.map((row) => row.node()));
}

// ---- the whole page ------------------------------------------------------------------------------
function render() {
  $("channel-title").textContent = ui.data.channel.name;
  $("kibana-kind").textContent = ui.data.kibana || "";
  $("channel-name").textContent = `# ${ui.data.channel.name}`;
  renderChannel();
  renderThread();
  renderModal();
}
async function send(text, threadTs) {
  const trimmed = text.trim();
  if (!trimmed) return;
  if (trimmed.startsWith("/")) {
    const [command, ...rest] = trimmed.split(/\s+/);
    if (command !== "/kibana") { toast(`${command} is not a command in this workspace; try /kibana`); return; }
    await api("/api/command", { text: trimmed.slice(command.length).trim() });
    return;
  }
  await api("/api/message", { text: trimmed, thread_ts: threadTs || null });
}

document.addEventListener("DOMContentLoaded", () => {
  $("composer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("composer-input");
    const text = input.value;
    input.value = "";
    await send(text);
  });
  $("thread-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("thread-input");
    const text = input.value;
    input.value = "";
    await send(text, ui.thread);
  });
  for (const chip of document.querySelectorAll(".chip")) {
    chip.addEventListener("click", () => { $("composer-input").value = chip.dataset.text + " "; $("composer-input").focus(); });
  }
  $("thread-close").addEventListener("click", () => { ui.thread = null; renderThread(); });
  $("sample-alert").addEventListener("click", () => api("/api/sample-alert", {}));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("modal-layer").hidden && $("confirm-layer").hidden && ui.data && ui.data.view) {
      api(`/api/views/${ui.data.view.id}/close`, {});
    }
  });
  poll();
  setInterval(poll, POLL_MS);
});
