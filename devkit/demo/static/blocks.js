// Block Kit as DOM: text objects, interactive elements (real block_actions through /api/action),
// confirm dialogs and every block type the bot sends.
"use strict";

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
