// The demo page: a small Slack client for one channel. Plain JS, no build step, no network
// beyond the page's own server (/api/*), which turns every action into a signed Slack request.
"use strict";

const POLL_MS = 700;
const EMOJI = {
  rotating_light: "\u{1F6A8}", white_check_mark: "\u2705", warning: "\u26A0\uFE0F", x: "\u274C",
  white_circle: "\u26AA", black_circle: "\u26AB", red_circle: "\u{1F534}", large_green_circle: "\u{1F7E2}",
  large_yellow_circle: "\u{1F7E1}", large_orange_circle: "\u{1F7E0}", no_entry: "\u26D4",
  double_vertical_bar: "\u23F8\uFE0F", heavy_check_mark: "\u2714\uFE0F", bell: "\u{1F514}", no_bell: "\u{1F515}",
  zzz: "\u{1F4A4}", mag: "\u{1F50D}", lock: "\u{1F512}", key: "\u{1F511}", briefcase: "\u{1F4BC}",
  gear: "\u2699\uFE0F", information_source: "\u2139\uFE0F", hourglass: "\u231B", memo: "\u{1F4DD}",
  link: "\u{1F517}", fire: "\u{1F525}", eyes: "\u{1F440}", tada: "\u{1F389}", wave: "\u{1F44B}",
  "+1": "\u{1F44D}", thumbsup: "\u{1F44D}", bar_chart: "\u{1F4CA}", clock1: "\u{1F550}", pushpin: "\u{1F4CC}",
};

const ui = { data: null, lastJson: "", thread: null, viewKey: "", busy: false };
const $ = (id) => document.getElementById(id);

// ---- mrkdwn ----------------------------------------------------------------------------
function escapeHtml(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}
function decodeEntities(text) {
  return String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
function emojify(html) {
  return html.replace(/:([a-z0-9_+-]+):/g, (all, name) => EMOJI[name] || all);
}
function userName(id) {
  const user = ui.data && ui.data.users[id];
  return user ? user.name : id;
}
function channelName(id) {
  const name = ui.data && ui.data.channels[id];
  return name || id;
}
function safeUrl(url) {
  return /^(https?:|mailto:)/i.test(url) ? url : null;
}
// One <…> token: a link, a user or channel mention, or a special mention.
function slackToken(inner) {
  const bar = inner.indexOf("|");
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? inner.slice(bar + 1) : "";
  if (target.startsWith("@")) {
    return `<span class="mention">@${escapeHtml(label || userName(target.slice(1)))}</span>`;
  }
  if (target.startsWith("#")) {
    return `<span class="mention">#${escapeHtml(label || channelName(target.slice(1)))}</span>`;
  }
  if (target.startsWith("!")) {
    const special = target.slice(1).split("^")[0];
    const text = label || (["here", "channel", "everyone"].includes(special) ? `@${special}` : special);
    return `<span class="mention">${escapeHtml(decodeEntities(text))}</span>`;
  }
  const url = safeUrl(decodeEntities(target));
  const text = escapeHtml(decodeEntities(label || target));
  return url ? `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${text}</a>` : text;
}
function styled(text) {
  const tokens = [];
  const marked = text.replace(/<([^<>]+)>/g, (all, inner) => {
    tokens.push(slackToken(inner));
    return `\u0000${tokens.length - 1}\u0000`;
  });
  let html = escapeHtml(decodeEntities(marked));
  const edge = "(^|[\\s(\\[{\"'\\u0000])";
  const after = "(?=$|[\\s).,!?:;\\]}\"'\\u0000-])";
  html = html.replace(new RegExp(`${edge}\\*([^*\\n]+?)\\*${after}`, "g"), "$1<b>$2</b>");
  html = html.replace(new RegExp(`${edge}_([^_\\n]+?)_${after}`, "g"), "$1<i>$2</i>");
  html = html.replace(new RegExp(`${edge}~([^~\\n]+?)~${after}`, "g"), "$1<s>$2</s>");
  html = emojify(html);
  html = html.split("\n").map((line) => (line.startsWith("&gt; ") ? `<blockquote>${line.slice(5)}</blockquote>` : line))
    .join("<br>").replace(/<\/blockquote><br>/g, "</blockquote>");
  return html.replace(/\u0000(\d+)\u0000/g, (all, i) => tokens[Number(i)]);
}
function inline(text) {
  return text.split(/(`[^`\n]+`)/).map((part) => (
    part.length > 2 && part.startsWith("`") && part.endsWith("`")
      ? `<code>${escapeHtml(decodeEntities(part.slice(1, -1)))}</code>`
      : styled(part)
  )).join("");
}
// Slack mrkdwn → HTML (everything escaped; only the markup Slack knows becomes tags).
function mrkdwn(text) {
  const parts = String(text || "").split("```");
  return parts.map((part, i) => {
    if (i % 2 === 1 && i < parts.length - 1) {
      return `<pre>${escapeHtml(decodeEntities(part.replace(/^\n/, "")))}</pre>`;
    }
    return inline(i % 2 === 1 ? "```" + part : part);
  }).join("");
}
window.mrkdwn = mrkdwn; // for the tests

// ---- small DOM helpers -------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "html") node.innerHTML = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
function textObject(obj, cls) {
  if (!obj) return el("span");
  if (obj.type === "mrkdwn") return el("div", { class: `mrkdwn ${cls || ""}`, html: mrkdwn(obj.text) });
  return el("div", { class: cls || "", html: emojify(escapeHtml(obj.text || "")) });
}
function plain(obj) {
  return obj ? String(obj.text || "") : "";
}
function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
}
function clock(ts) {
  const date = new Date(Number(ts) * 1000);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

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

// ---- confirm dialogs -------------------------------------------------------------------------
function confirmed(confirm) {
  if (!confirm) return Promise.resolve(true);
  return new Promise((resolve) => {
    const layer = $("confirm-layer");
    const done = (answer) => { layer.hidden = true; layer.replaceChildren(); resolve(answer); };
    const style = confirm.style === "danger" ? "danger" : "primary";
    layer.replaceChildren(el("div", { class: "dialog confirm-dialog", role: "alertdialog", "aria-label": plain(confirm.title) },
      el("header", {}, plain(confirm.title) || "Are you sure?"),
      el("div", { class: "dialog-body" }, textObject(confirm.text)),
      el("footer", {},
        el("button", { class: "btn", type: "button", onclick: () => done(false) }, plain(confirm.deny) || "Cancel"),
        el("button", { class: `btn ${style}`, type: "button", onclick: () => done(true) }, plain(confirm.confirm) || "Yes"))));
    layer.hidden = false;
  });
}

// ---- interactive elements ----------------------------------------------------------------------
// `where` is {ts, ephemeral} for a message, or {view_id} for a modal.
async function act(where, blockId, element, value) {
  if (!(await confirmed(element.confirm))) return;
  await api("/api/action", { ...where, block_id: blockId, action_id: element.action_id, value });
}
function buttonElement(where, blockId, element) {
  const style = element.style === "primary" || element.style === "danger" ? element.style : "";
  return el("button", {
    class: `btn ${style}`, type: "button", "data-action-id": element.action_id,
    onclick: async () => {
      if (element.url && safeUrl(element.url)) {
        if (!(await confirmed(element.confirm))) return;
        window.open(element.url, "_blank", "noopener");
        await api("/api/action", { ...where, block_id: blockId, action_id: element.action_id, value: element.value });
        return;
      }
      await act(where, blockId, element, element.value);
    },
  }, plain(element.text));
}
function optionsOf(element) {
  const groups = (element.option_groups || []).flatMap((group) => group.options || []);
  return (element.options || []).concat(groups);
}
function staticSelect(where, blockId, element, interactive) {
  const select = el("select", { class: "select", "data-action-id": element.action_id, "aria-label": plain(element.placeholder) || element.action_id },
    el("option", { value: "", disabled: true, selected: !element.initial_option }, plain(element.placeholder) || "Select an item"),
    optionsOf(element).map((option) => el("option", {
      value: option.value,
      selected: element.initial_option && element.initial_option.value === option.value,
    }, plain(option.text))));
  if (interactive) {
    select.addEventListener("change", async () => {
      const value = select.value;
      if (!(await confirmed(element.confirm))) { select.value = ""; return; }
      await api("/api/action", { ...where, block_id: blockId, action_id: element.action_id, value });
    });
  }
  return select;
}
function overflowMenu(where, blockId, element) {
  const menu = el("div", { class: "menu", hidden: true });
  for (const option of element.options || []) {
    menu.append(el("button", {
      type: "button",
      onclick: async () => {
        menu.hidden = true;
        if (option.url && safeUrl(option.url)) window.open(option.url, "_blank", "noopener");
        await act(where, blockId, element, option.value);
      },
    }, plain(option.text)));
  }
  const toggle = el("button", { class: "btn", type: "button", "aria-label": "More options", "data-action-id": element.action_id,
    onclick: () => { menu.hidden = !menu.hidden; } }, "\u22EF");
  return el("span", { class: "overflow" }, toggle, menu);
}
function element(where, blockId, elem) {
  switch (elem.type) {
    case "button": return buttonElement(where, blockId, elem);
    case "static_select": return staticSelect(where, blockId, elem, true);
    case "overflow": return overflowMenu(where, blockId, elem);
    case "image": return el("img", { src: elem.image_url, alt: elem.alt_text || "" });
    default: return el("span", { class: "muted" }, `[${elem.type}]`);
  }
}

// ---- blocks ------------------------------------------------------------------------------------
function richText(block) {
  const parts = [];
  const walk = (items) => {
    for (const item of items || []) {
      if (item.type === "text") {
        let html = escapeHtml(item.text).replace(/\n/g, "<br>");
        const style = item.style || {};
        if (style.code) html = `<code>${html}</code>`;
        if (style.bold) html = `<b>${html}</b>`;
        if (style.italic) html = `<i>${html}</i>`;
        if (style.strike) html = `<s>${html}</s>`;
        parts.push(html);
      } else if (item.type === "link") {
        const url = safeUrl(item.url || "");
        const label = escapeHtml(item.text || item.url || "");
        parts.push(url ? `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${label}</a>` : label);
      } else if (item.type === "user") parts.push(`<span class="mention">@${escapeHtml(userName(item.user_id))}</span>`);
      else if (item.type === "channel") parts.push(`<span class="mention">#${escapeHtml(channelName(item.channel_id))}</span>`);
      else if (item.type === "emoji") parts.push(EMOJI[item.name] || `:${escapeHtml(item.name)}:`);
      else if (item.type === "rich_text_preformatted") { parts.push("<pre>"); walk(item.elements); parts.push("</pre>"); }
      else if (item.elements) { walk(item.elements); if (item.type !== "rich_text_section") parts.push("<br>"); }
    }
  };
  walk(block.elements);
  return el("div", { class: "mrkdwn", html: parts.join("") });
}
function block(where, blk) {
  const id = blk.block_id;
  switch (blk.type) {
    case "header":
      return el("div", { class: "block header-block" }, textObject(blk.text));
    case "section": {
      const main = el("div", { class: "section-main" }, blk.text ? textObject(blk.text) : null,
        blk.fields ? el("div", { class: "fields" }, blk.fields.map((field) => textObject(field))) : null);
      return el("div", { class: "block section-block", "data-block-id": id }, main,
        blk.accessory ? el("div", { class: "accessory" }, element(where, id, blk.accessory)) : null);
    }
    case "context":
      return el("div", { class: "block context-block", "data-block-id": id },
        (blk.elements || []).map((item) => (item.type === "image"
          ? el("img", { src: item.image_url, alt: item.alt_text || "" }) : textObject(item))));
    case "divider":
      return el("hr", { class: "divider-block" });
    case "actions":
      return el("div", { class: "block actions-block", "data-block-id": id },
        (blk.elements || []).map((elem) => element(where, id, elem)));
    case "image":
      return el("div", { class: "block image-block" }, el("img", { src: blk.image_url, alt: blk.alt_text || "" }));
    case "rich_text":
      return el("div", { class: "block" }, richText(blk));
    case "input":
      return inputBlock(where, blk);
    default:
      return el("div", { class: "block muted" }, `[${blk.type} block]`);
  }
}
function blocksOf(where, message) {
  if (message.blocks && message.blocks.length) {
    return el("div", { class: "blocks" }, message.blocks.map((blk) => block(where, blk)));
  }
  return el("div", { class: "mrkdwn", html: mrkdwn(message.text || "") });
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
  ui.thread = ts;
  $("thread-panel").hidden = false;
  renderThread();
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

// ---- modals ------------------------------------------------------------------------------------
function inputElement(blk) {
  const elem = blk.element || {};
  const id = `in-${blk.block_id}`;
  switch (elem.type) {
    case "plain_text_input":
      return elem.multiline
        ? el("textarea", { id, maxlength: elem.max_length, placeholder: plain(elem.placeholder) }, elem.initial_value || "")
        : el("input", { id, type: "text", value: elem.initial_value || "", maxlength: elem.max_length, placeholder: plain(elem.placeholder) });
    case "number_input":
      return el("input", { id, type: "number", value: elem.initial_value || "" });
    case "email_text_input":
      return el("input", { id, type: "email", value: elem.initial_value || "" });
    case "url_text_input":
      return el("input", { id, type: "url", value: elem.initial_value || "" });
    case "static_select": {
      const select = staticSelect(null, blk.block_id, elem, false);
      select.id = id;
      return select;
    }
    case "checkboxes":
    case "radio_buttons": {
      const kind = elem.type === "checkboxes" ? "checkbox" : "radio";
      const chosen = new Set((elem.initial_options || (elem.initial_option ? [elem.initial_option] : [])).map((o) => o.value));
      return el("div", { id }, (elem.options || []).map((option) => el("label", { class: "choice" },
        el("input", { type: kind, name: id, value: option.value, checked: chosen.has(option.value) }),
        el("span", {}, textObject(option.text), option.description ? el("div", { class: "hint" }, plain(option.description)) : null))));
    }
    case "file_input": {
      const list = el("div", { class: "file-list" });
      const input = el("input", { type: "file", id, accept: (elem.filetypes || []).map((t) => `.${t}`).join(",") || null });
      const holder = el("div", { "data-files": "[]" }, input, list);
      input.addEventListener("change", async () => {
        const ids = [];
        for (const file of input.files) {
          const form = new FormData();
          form.append("file", file, file.name);
          const answer = await api("/api/files", form, true);
          if (answer.file) ids.push(answer.file.id);
        }
        holder.dataset.files = JSON.stringify(ids);
        list.textContent = ids.length ? `uploaded: ${[...input.files].map((f) => f.name).join(", ")}` : "";
      });
      return holder;
    }
    default:
      return el("div", { class: "muted" }, `[${elem.type} is not supported by the demo page]`);
  }
}
function inputBlock(where, blk) {
  const label = el("label", { class: "label", for: `in-${blk.block_id}` }, plain(blk.label),
    blk.optional ? el("span", { class: "optional" }, " (optional)") : null);
  return el("div", { class: "input-block", "data-block-id": blk.block_id }, label, inputElement(blk),
    blk.hint ? el("div", { class: "hint" }, plain(blk.hint)) : null,
    el("div", { class: "field-error", hidden: true }));
}
function inputValue(blk, node) {
  const elem = blk.element || {};
  const id = `in-${blk.block_id}`;
  const field = node.querySelector(`[id="${CSS.escape(id)}"]`);
  switch (elem.type) {
    case "plain_text_input": case "number_input": case "email_text_input": case "url_text_input":
      return field.value === "" ? null : field.value;
    case "static_select":
      return field.value === "" ? null : field.value;
    case "checkboxes":
      return [...field.querySelectorAll("input:checked")].map((box) => box.value);
    case "radio_buttons": {
      const chosen = field.querySelector("input:checked");
      return chosen ? chosen.value : null;
    }
    case "file_input":
      return JSON.parse(field.parentElement.dataset.files || "[]");
    default:
      return undefined;
  }
}
function renderModal() {
  const layer = $("modal-layer");
  const view = ui.data.view;
  const key = view ? `${view.id}:${view.hash}` : "";
  if (key === ui.viewKey) return;
  ui.viewKey = key;
  if (!view) { layer.hidden = true; layer.replaceChildren(); return; }
  const where = { view_id: view.id };
  const body = el("div", { class: "dialog-body" }, el("div", { class: "dialog-error", hidden: true }),
    (view.blocks || []).map((blk) => block(where, blk)));
  const close = () => api(`/api/views/${view.id}/close`, {});
  const submit = async () => {
    const values = {};
    for (const blk of view.blocks || []) {
      if (blk.type !== "input") continue;
      const node = body.querySelector(`[data-block-id="${CSS.escape(blk.block_id)}"]`);
      const value = inputValue(blk, node);
      if (value === undefined) continue;
      values[blk.block_id] = { [blk.element.action_id]: value };
    }
    const answer = await api(`/api/views/${view.id}/submit`, { values });
    showErrors(body, answer.errors || {});
  };
  const dialog = el("div", { class: "dialog", role: "dialog", "aria-label": plain(view.title), id: "modal" },
    el("header", {}, el("span", {}, plain(view.title)),
      el("button", { class: "icon-btn", type: "button", "aria-label": "Close", onclick: close }, "\u2715")),
    body,
    el("footer", {},
      el("button", { class: "btn", type: "button", onclick: close }, plain(view.close) || "Cancel"),
      view.submit ? el("button", { class: "btn primary", type: "button", id: "modal-submit", onclick: submit }, plain(view.submit)) : null));
  layer.replaceChildren(dialog);
  layer.hidden = false;
}
function showErrors(body, errors) {
  const known = new Set();
  for (const node of body.querySelectorAll(".input-block")) {
    const message = errors[node.dataset.blockId];
    const box = node.querySelector(".field-error");
    box.hidden = !message;
    box.textContent = message || "";
    node.classList.toggle("has-error", Boolean(message));
    if (message) known.add(node.dataset.blockId);
  }
  const other = Object.entries(errors).filter(([blockId]) => !known.has(blockId)).map(([, message]) => message);
  const top = body.querySelector(".dialog-error");
  top.hidden = !other.length;
  top.textContent = other.join(" ");
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
