"""The new-case and add-to-case modals: what they show, what they carry, and checking what was entered.

Pure functions only (no Slack or Kibana calls), so the prefill and the validation are
testable on their own. Limits are Kibana's (`Cases_create_case_request`): title ≤ 160,
description ≤ 30000, ≤ 200 tags of ≤ 256 characters each; and Slack's: a form field
(`plain_text_input`) holds at most 3,000 characters, so a longer message is shown by its
beginning and its whole text is added to the case as a comment (`whole_text_comments`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from pydantic import Field, field_validator

from bot.identifiers import CaseOwner
from bot.kibana.models.cases import CaseSeverity
from handlers.cases.actions import CASE_MODAL, COMMENT_MODAL, TITLE_LIMIT
from handlers.shared.blocks import Block, clip, context, escape, modal, option, plain, section
from handlers.shared.codec import Metadata
from handlers.shared.grammar import is_space_id
from handlers.shared.interaction import Interaction, Message
from handlers.shared.replies import Surface

TITLE, DESCRIPTION, SEVERITY, TAGS, OWNER, SYNC = "title", "description", "severity", "tags", "owner", "sync_alerts"
COMMENT = "comment"
SOURCE_BLOCK = "case_source"

DESCRIPTION_LIMIT = 30000
TAG_LIMIT = 256
TAGS_LIMIT = 200
USER_TAGS_LIMIT = TAGS_LIMIT - 1  # one is kept for the de-duplication tag
COMMENT_LIMIT = 30000
FIELD_LIMIT = 3000  # a plain_text_input's value (Slack refuses a longer initial_value, and max_length > 3000)
DEDUPE_TAG_PREFIX = "slack-dedupe:"
WHOLE_BLOCK = "case_whole_message"

SEVERITIES: tuple[CaseSeverity, ...] = ("low", "medium", "high", "critical")
OWNERS: dict[str, str] = {"cases": "Stack Management", "observability": "Observability", "securitySolution": "Security"}

Kind = Literal["message", "alert", "command"]


SLACK_ID = re.compile(r"[A-Z0-9]{2,40}")


class CaseOrigin(Metadata):
    """Where the form was opened from; travels in the modal's private_metadata (≤ 3000 chars)."""

    kind: Kind = Field(alias="k")
    channel: str | None = Field(None, alias="c")
    message_ts: str | None = Field(None, alias="m")
    thread_ts: str | None = Field(None, alias="t")
    space: str = Field("default", alias="s")

    @field_validator("space")
    @classmethod
    def _space(cls, value: str) -> str:
        if not is_space_id(value):
            raise ValueError("not a space id")
        return value

    @field_validator("author", "channel", mode="before")
    @classmethod
    def _slack_id(cls, value: object) -> object:
        """A user or channel id as Slack writes them (they are mentioned as `<@…>`, `<#…>`); else none."""
        return value if isinstance(value, str) and SLACK_ID.fullmatch(value) else None

    rule_id: str | None = Field(None, alias="r")
    alert_id: str | None = Field(None, alias="a")
    author: str | None = Field(None, alias="w")
    permalink: str | None = Field(None, alias="p")
    response_url: str | None = Field(None, alias="u")
    case_id: str | None = Field(None, alias="i")  # the add-to-case modal: the existing case
    shortened: bool | None = Field(None, alias="l")  # the form shows the message's beginning: add the whole

    @classmethod
    def of_message(cls, interaction: Interaction, space: str) -> Self:
        """The origin of a form opened on a message (a message shortcut): where it is, and who wrote it."""
        message = interaction.message or Message()
        return cls(
            kind="message",
            channel=interaction.channel,
            message_ts=interaction.message_ts,
            thread_ts=interaction.thread_ts,
            space=space,
            author=message.author,
            response_url=interaction.response_url,
        )

    def pack(self) -> str:
        if not self.fits():  # only a huge permalink could do this: drop it, fetch it again later
            return self.model_copy(update={"permalink": None}).pack()
        return super().pack()

    def surface(self, user: str) -> Surface:
        """Where the person who opened the form is answered."""
        return Surface(user=user, channel=self.channel, thread_ts=self.reply_ts, response_url=self.response_url)

    @property
    def reply_ts(self) -> str | None:
        """The thread the outcome goes into (the message's own thread, or the message)."""
        return self.thread_ts or self.message_ts


def dedupe_key(origin: CaseOrigin, view_id: str) -> str:
    """One case per Slack message; one per form for the command (which has no message)."""
    if origin.channel and origin.message_ts:
        return f"{origin.channel}:{origin.message_ts}"
    return f"view:{view_id}"


def dedupe_tag(key: str) -> str:
    return clip(f"{DEDUPE_TAG_PREFIX}{key}", TAG_LIMIT)


# ---- prefill --------------------------------------------------------------------------

# Slack markup: <target> or <target|label>; a target has no spaces (literal < and > come as &lt; &gt;)
_LINK = re.compile(r"<([^<>|\s]+)\|([^<>]*)>")
_BARE = re.compile(r"<([^<>|\s]+)>")


def plain_text(slack_text: str) -> str:
    """Slack mrkdwn as readable plain text: `<url|label>` → label, `<@U1>` → @U1, entities decoded."""

    def labelled(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        return label if not target.startswith(("@", "#", "!")) else f"{target[0]}{label}"

    text = _LINK.sub(labelled, slack_text)
    text = _BARE.sub(lambda m: m.group(1).removeprefix("!"), text)
    return html.unescape(text)


def title_from(text: str) -> str:
    """The first non-empty line of a message, as plain text, at most 160 characters."""
    for line in plain_text(text).splitlines():
        line = line.strip()
        if line:
            return clip(line, TITLE_LIMIT)
    return ""


@dataclass
class Prefill:
    title: str = ""
    description: str = ""
    severity: CaseSeverity = "low"
    tags: list[str] = field(default_factory=lambda: ["slack"])
    owner: str = "cases"
    sync_alerts: bool = True
    note: str = ""  # a context line under the form (where it came from)
    whole_note: str = ""  # under the description, when it shows only the beginning of the message


def source_line(origin: CaseOrigin) -> str:
    """The description's last line: who wrote the message, and where it is."""
    parts = []
    if origin.author:
        parts.append(f"Slack message by <@{origin.author}>")
    elif origin.channel:
        parts.append(f"Opened from Slack in <#{origin.channel}>")
    if origin.permalink:
        parts.append(origin.permalink)
    return ": ".join(parts)


def message_text(slack_text: str) -> str:
    """A message's text as the case gets it: Slack's entities (&lt; &gt; &amp;) decoded, trimmed."""
    return html.unescape(slack_text).strip()


def _footer(origin: CaseOrigin, extra: str) -> str:
    return "\n\n".join(part for part in (extra, source_line(origin)) if part)


def _room(footer: str) -> int:
    """How much of the message fits in a form field beside the footer."""
    return max(FIELD_LIMIT - len(footer) - 2, 0)


def description_for(text: str, origin: CaseOrigin, *, extra: str = "") -> str:
    """The message text, then where it came from, fitting a form field (3,000 characters): a longer
    message is clipped here, and its whole text added to the case as a comment (`shortened`)."""
    footer = _footer(origin, extra)
    body = clip(message_text(text), _room(footer))
    return "\n\n".join(part for part in (body, footer) if part)


def shortened(text: str, origin: CaseOrigin, *, extra: str = "") -> bool:
    """Whether `description_for` shows only the beginning of the message."""
    return len(message_text(text)) > _room(_footer(origin, extra))


def tags_text(tags: list[str]) -> str:
    return ", ".join(tags)


# ---- the views --------------------------------------------------------------------------


def _input(block_id: str, label: str, element: Block, *, optional: bool = False, hint: str | None = None) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "optional": optional,
        "element": {**element, "action_id": block_id},
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _text_input(initial: str, *, multiline: bool = False, max_length: int | None = None) -> Block:
    element: Block = {"type": "plain_text_input", "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    if max_length:
        element["max_length"] = max_length
    return element


def _select(options: list[Block], initial: str) -> Block:
    chosen = next((o for o in options if o["value"] == initial), options[0])
    return {"type": "static_select", "options": options, "initial_option": chosen}


SYNC_OPTION = option("Sync the case's status with its alerts", "sync")


def case_form(prefill: Prefill, origin: CaseOrigin) -> Block:
    """The new-case modal, prefilled."""
    severities = [option(s.capitalize(), s) for s in SEVERITIES]
    owners = [option(label, value) for value, label in OWNERS.items()]
    sync: Block = {"type": "checkboxes", "options": [SYNC_OPTION]}
    if prefill.sync_alerts:
        sync["initial_options"] = [SYNC_OPTION]
    blocks: list[Block] = [
        _input(TITLE, "Title", _text_input(prefill.title, max_length=TITLE_LIMIT)),
        _input(DESCRIPTION, "Description", _text_input(prefill.description, multiline=True, max_length=FIELD_LIMIT)),
    ]
    if prefill.whole_note:
        blocks.append(context(prefill.whole_note, block_id=WHOLE_BLOCK))
    blocks += [
        _input(SEVERITY, "Severity", _select(severities, prefill.severity)),
        _input(
            TAGS,
            "Tags",
            _text_input(tags_text(prefill.tags)),
            optional=True,
            hint="Comma-separated, e.g. slack, payments, prod",
        ),
        _input(OWNER, "Kibana app", _select(owners, prefill.owner)),
        _input(SYNC, "Alerts", sync, optional=True),
    ]
    if prefill.note:
        blocks.append(context(prefill.note, block_id=SOURCE_BLOCK))
    return modal(CASE_MODAL, "Open a Kibana case", blocks, origin.pack(), submit="Open case")


def comment_form(
    origin: CaseOrigin, *, case_title: str, case_url: str | None, comment: str, whole_note: str = ""
) -> Block:
    """Offered instead of a second case for a message that already has one."""
    named = f"<{case_url}|{escape(case_title)}>" if case_url else f"*{escape(case_title)}*"
    blocks = [
        section(f"This message already has a case: {named}.\nAdd the message to it as a comment instead?"),
        _input(COMMENT, "Comment", _text_input(clip(comment, FIELD_LIMIT), multiline=True, max_length=FIELD_LIMIT)),
    ]
    if whole_note:
        blocks.append(context(whole_note, block_id=WHOLE_BLOCK))
    return modal(COMMENT_MODAL, "Add to Kibana case", blocks, origin.pack(), submit="Add comment")


def notice(callback_id: str, title: str, text: str, origin: CaseOrigin) -> Block:
    """A modal that only tells something (a refusal, a failure while preparing the form)."""
    return modal(callback_id, title, [section(text)], origin.pack(), submit=None)


# ---- reading what was submitted -----------------------------------------------------------


@dataclass(frozen=True)
class CaseFields:
    title: str
    description: str
    severity: CaseSeverity
    tags: list[str]
    owner: CaseOwner
    sync_alerts: bool


def _state(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    entry = view.get("state", {}).get("values", {}).get(block_id, {}).get(block_id)
    return entry if isinstance(entry, dict) else {}


def _text(view: dict[str, Any], block_id: str) -> str:
    value = _state(view, block_id).get("value")
    return value.strip() if isinstance(value, str) else ""


def _selected(view: dict[str, Any], block_id: str) -> str | None:
    chosen = _state(view, block_id).get("selected_option")
    return chosen.get("value") if isinstance(chosen, dict) else None


def split_tags(text: str) -> list[str]:
    """Comma- (or newline-) separated tags, trimmed, empty ones dropped, duplicates once."""
    seen: dict[str, None] = {}
    for raw in re.split(r"[,\n]", text):
        tag = raw.strip()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def read_case_form(view: dict[str, Any], *, footer: str = "") -> CaseFields | dict[str, str]:
    """The entered case, or {block_id: what is wrong} for Slack to show under each field.

    `footer` is appended to the description when it is not already in it (the permalink)."""
    errors: dict[str, str] = {}
    title = _text(view, TITLE)
    if not title:
        errors[TITLE] = "Give the case a title."
    elif len(title) > TITLE_LIMIT:
        errors[TITLE] = f"A case title has at most {TITLE_LIMIT} characters; this one has {len(title)}."
    description = _text(view, DESCRIPTION)
    if footer and footer not in description:
        description = f"{description}\n\n{footer}" if description else footer
    if not description:
        errors[DESCRIPTION] = "Describe the case (Kibana needs a description)."
    elif len(description) > DESCRIPTION_LIMIT:
        errors[DESCRIPTION] = (
            f"A case description has at most {DESCRIPTION_LIMIT} characters; this one has {len(description)}"
            + (" with the link to the message." if footer else ".")
        )
    tags = split_tags(_text(view, TAGS))
    long_tags = [tag for tag in tags if len(tag) > TAG_LIMIT]
    if long_tags:
        errors[TAGS] = f"Each tag has at most {TAG_LIMIT} characters; “{clip(long_tags[0], 40)}” is longer."
    elif len(tags) > USER_TAGS_LIMIT:
        errors[TAGS] = f"A case has at most {USER_TAGS_LIMIT} tags here; you gave {len(tags)}."
    severity = _selected(view, SEVERITY) or "low"
    if severity not in SEVERITIES:
        errors[SEVERITY] = "Choose one of the severities."
    owner = _selected(view, OWNER) or "cases"
    if owner not in OWNERS:
        errors[OWNER] = "Choose one of the Kibana apps."
    if errors:
        return errors
    picked = _state(view, SYNC).get("selected_options") or []
    return CaseFields(
        title=title,
        description=description,
        severity=severity,  # type: ignore[arg-type]
        tags=tags,
        owner=owner,  # type: ignore[arg-type]
        sync_alerts=any(isinstance(o, dict) and o.get("value") == "sync" for o in picked),
    )


def read_comment(view: dict[str, Any]) -> str | dict[str, str]:
    text = _text(view, COMMENT)
    if not text:
        return {COMMENT: "Write the comment to add."}
    if len(text) > COMMENT_LIMIT:
        return {COMMENT: f"A comment has at most {COMMENT_LIMIT} characters; this one has {len(text)}."}
    return text
