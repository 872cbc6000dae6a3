// Modals: the view on top of the user's screen, its inputs, and view_submission with inline errors.
"use strict";

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
    case "external_select": {
      // Slack asks the app for options as the user types (block_suggestion); the page does the same.
      const select = el("select", { id, class: "select", "data-action-id": elem.action_id, "aria-label": plain(elem.placeholder) || elem.action_id },
        el("option", { value: "", selected: true }, plain(elem.placeholder) || "Select an item"));
      const search = el("input", { type: "search", class: "suggest", placeholder: "Type to search", "aria-label": "Search" });
      const load = async () => {
        const view = ui.modalView;
        if (!view) return;
        const answer = await api(`/api/views/${view.id}/suggest`, { action_id: elem.action_id, value: search.value });
        const chosen = select.value;
        select.replaceChildren(el("option", { value: "" }, plain(elem.placeholder) || "Select an item"),
          (answer.options || []).map((option) => el("option", { value: option.value, selected: option.value === chosen }, plain(option.text))));
      };
      let timer = null;
      search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 250); });
      select.addEventListener("focus", load, { once: true });
      return el("div", { class: "external-select" }, search, select);
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
  const node = el("div", { class: "input-block", "data-block-id": blk.block_id }, label, inputElement(blk),
    blk.hint ? el("div", { class: "hint" }, plain(blk.hint)) : null,
    el("div", { class: "field-error", hidden: true }));
  const touched = () => { node.dataset.dirty = "1"; };
  node.addEventListener("input", touched);
  node.addEventListener("change", touched);
  return node;
}
function inputValue(blk, node) {
  const elem = blk.element || {};
  const id = `in-${blk.block_id}`;
  const field = node.querySelector(`[id="${CSS.escape(id)}"]`);
  switch (elem.type) {
    case "plain_text_input": case "number_input": case "email_text_input": case "url_text_input":
      return field.value === "" ? null : field.value;
    case "static_select": case "external_select":
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
// What the user changed in the modal on screen: {block_id: {type, value}}.
function enteredValues() {
  const shown = ui.modalView;
  const entered = {};
  if (!shown) return entered;
  for (const blk of shown.blocks || []) {
    if (blk.type !== "input") continue;
    const node = $("modal-layer").querySelector(`[data-block-id="${CSS.escape(blk.block_id)}"]`);
    if (node && node.dataset.dirty) entered[blk.block_id] = { type: (blk.element || {}).type, value: inputValue(blk, node) };
  }
  return entered;
}
// Like Slack, views.update keeps what the user entered in inputs whose block_id and element type stay the same.
function restoreValues(body, view, entered) {
  for (const blk of view.blocks || []) {
    const before = entered[blk.block_id];
    if (blk.type !== "input" || !before || before.type !== (blk.element || {}).type || before.value === undefined) continue;
    const field = body.querySelector(`[id="${CSS.escape(`in-${blk.block_id}`)}"]`);
    if (!field) continue;
    const value = before.value;
    field.closest(".input-block").dataset.dirty = "1";
    if (before.type === "checkboxes" || before.type === "radio_buttons") {
      const chosen = new Set([].concat(value || []));
      for (const box of field.querySelectorAll("input")) box.checked = chosen.has(box.value);
    } else if (before.type === "file_input") {
      field.parentElement.dataset.files = JSON.stringify(value || []);
    } else {
      field.value = value === null ? "" : value;
    }
  }
}
function renderModal() {
  const layer = $("modal-layer");
  const view = ui.data.view;
  const key = view ? `${view.id}:${view.hash}` : "";
  if (key === ui.viewKey) return;
  ui.viewKey = key;
  const entered = view && ui.modalView && ui.modalView.id === view.id ? enteredValues() : {};
  ui.modalView = view;
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
  restoreValues(body, view, entered);
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
