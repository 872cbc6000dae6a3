"""Small Block Kit builders that respect Slack's limits."""

from __future__ import annotations

import re
from typing import Any

Block = dict[str, Any]

SECTION_TEXT_LIMIT = 3000
BUTTON_TEXT_LIMIT = 75
HEADER_LIMIT = 150


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# A look-alike of the backtick (U+02CB MODIFIER LETTER GRAVE ACCENT): text inside a code span
# cannot close it early.
BACKTICK_LOOKALIKE = "\u02cb"


# What Slack would show deceptively, or not at all: C0 controls but tab and line breaks (ESC among them),
# DEL, C1 controls, and Unicode's bidirectional controls — embeddings and overrides (U+202A–U+202E),
# isolates (U+2066–U+2069) and the marks (U+200E, U+200F, U+061C) — which reorder the text around them,
# so that `abc<U+202E>fed` reads as `abcdef`.
DECEPTIVE = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_DECEPTIVE = re.compile(f"[{DECEPTIVE}]")
# In an id (a code span) also the invisible ones, which make two ids look alike: zero-width space,
# non-joiner and joiner, word joiner, and the byte-order mark.
_DECEPTIVE_IN_IDS = re.compile(f"[{DECEPTIVE}\u200b-\u200d\u2060\ufeff]")


def _shown(found: re.Match[str]) -> str:
    """A C0 control as its Unicode control picture (ESC → ␛, NUL → ␀), DEL as ␡, any other as [U+202E]."""
    point = ord(found.group())
    if point < 0x20:
        return chr(0x2400 + point)
    return "\u2421" if point == 0x7F else f"[U+{point:04X}]"


def visible(text: object, *, in_id: bool = False) -> str:
    """`text` (from Kibana, a webhook, a document, a person) with every DECEPTIVE character shown for
    what it is, so that nothing shown in Slack reads as something else. `escape`, `code` and the
    plain-text builders here apply it: it is the one place for it."""
    return (_DECEPTIVE_IN_IDS if in_id else _DECEPTIVE).sub(_shown, str(text))


def escape(text: object) -> str:
    """Escape text that did not come from the bot (Kibana, a webhook, a user) for mrkdwn: Slack's
    three control characters, so `<!channel>`, `<@U1>` or `<https://x|y>` are shown, not live, and
    the characters that would mislead made visible (`visible`)."""
    return visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: object) -> str:
    """`text` as an inline code span that cannot be broken out of: backticks inside become a
    look-alike, line breaks a space, invisible and reordering characters visible, and the rest is
    escaped."""
    inner = visible(str(text).replace("`", BACKTICK_LOOKALIKE).replace("\r", " ").replace("\n", " "), in_id=True)
    return f"`{escape(inner) or ' '}`"


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(visible(text), HEADER_LIMIT), "emoji": True}}


def section(
    text: str, *, fields: list[str] | None = None, accessory: Block | None = None, block_id: str | None = None
) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT_LIMIT)}}
    if fields:
        block["fields"] = [{"type": "mrkdwn", "text": clip(f, 2000)} for f in fields[:10]]
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def context(*texts: str, block_id: str | None = None) -> Block:
    block: Block = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(t, 3000)} for t in texts[:10]],
    }
    if block_id:
        block["block_id"] = block_id
    return block


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    value: str | None = None,
    *,
    style: str | None = None,
    url: str | None = None,
    confirm: Block | None = None,
) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(visible(text), BUTTON_TEXT_LIMIT), "emoji": True},
        "action_id": action_id,
    }
    if value is not None:
        element["value"] = value
    if style:
        element["style"] = style
    if url:
        element["url"] = url
    if confirm:
        element["confirm"] = confirm
    return element


def confirm(title: str, text: str, yes: str, *, danger: bool = False) -> Block:
    dialog: Block = {
        "title": {"type": "plain_text", "text": clip(visible(title), 100)},
        "text": {"type": "mrkdwn", "text": clip(text, 300)},
        "confirm": {"type": "plain_text", "text": clip(yes, 30)},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)[:25]}
    if block_id:
        block["block_id"] = block_id
    return block


def option(text: str, value: str) -> Block:
    return {"text": {"type": "plain_text", "text": clip(visible(text, in_id=True), 75)}, "value": value}


def plain(text: str, limit: int = 3000) -> Block:
    return {"type": "plain_text", "text": clip(visible(text), limit), "emoji": True}


def modal(
    callback_id: str, title: str, blocks: list[Block], metadata: str, *, submit: str | None, close: str = "Cancel"
) -> Block:
    """A modal view (Slack allows 24 characters in its title and buttons)."""
    view: Block = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "close": plain(close, 24),
        "blocks": blocks,
        "private_metadata": metadata,
    }
    if submit:
        view["submit"] = plain(submit, 24)
    return view
