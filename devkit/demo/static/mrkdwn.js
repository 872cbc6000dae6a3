// Slack mrkdwn and emoji codes as HTML (everything escaped; only the markup Slack knows becomes tags).
"use strict";

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
