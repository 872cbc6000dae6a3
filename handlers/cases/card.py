"""The case card: what a case linked to a Slack thread shows in that thread.

Its status and severity (menus that change them in Kibana, for operators), *Open in Kibana*, and
whether the thread's new replies become case comments (*Sync this thread* / *Stop syncing*, for
responders). The menus' and buttons' values name the link (`CardValue`); the bot checks that the
click came from that link's card before it acts (handlers/cases/card_clicks.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from handlers.cases.actions import CARD_LINK, CARD_SEVERITY, CARD_STATUS, CARD_SYNC, CARD_UNSYNC
from handlers.shared.blocks import Block, actions, button, clip, context, escape, option, section
from handlers.shared.codec import Packed

STATUSES: dict[str, str] = {"open": "Open", "in-progress": "In progress", "closed": "Closed"}
SEVERITIES: dict[str, str] = {"low": "Low", "medium": "Medium", "high": "High", "critical": "Critical"}
MARKS: dict[str, str] = {
    "open": ":large_green_circle:",
    "in-progress": ":large_yellow_circle:",
    "closed": ":white_circle:",
}


class CardValue(Packed):
    """A card's menu option or button: the link it belongs to, and the status or severity chosen."""

    link: int = Field(alias="l", ge=1)
    to: str = Field("", alias="v", max_length=16)


@dataclass(frozen=True)
class CaseCard:
    link_id: int
    title: str
    url: str
    status: str
    severity: str
    syncing: bool
    days: int  # CASE_SYNC_DAYS: how long Kibana's activity is brought into the thread

    def text(self) -> str:
        """The notification text of the card (what clients show without blocks)."""
        return (
            f"Kibana case {clip(self.title, 120)}: {STATUSES.get(self.status, self.status)}, severity {self.severity}"
        )

    def blocks(self) -> list[Block]:
        status = STATUSES.get(self.status, self.status)
        severity = SEVERITIES.get(self.severity, self.severity)
        mark = MARKS.get(self.status, ":white_circle:")
        title = f"<{self.url}|{escape(clip(self.title, 150))}>"
        sync = (
            "*Thread sync is on*: new replies in this thread become case comments, naming their author."
            if self.syncing
            else "Thread sync is off: replies in this thread stay in Slack."
        )
        elements = [
            _menu(CARD_STATUS, "Status", STATUSES, self.status, self.link_id),
            _menu(CARD_SEVERITY, "Severity", SEVERITIES, self.severity, self.link_id),
            button("Stop syncing", CARD_UNSYNC, CardValue(link=self.link_id).pack())
            if self.syncing
            else button("Sync this thread", CARD_SYNC, CardValue(link=self.link_id).pack(), style="primary"),
            button("Open in Kibana", CARD_LINK, url=self.url),
        ]
        return [
            section(
                f":briefcase: Kibana case {title}", fields=[f"*Status*\n{mark} {status}", f"*Severity*\n{severity}"]
            ),
            actions(*elements, block_id="case_card"),
            context(
                sync,
                "Edits and deletions of replies are not mirrored. Comments, status, severity and assignee "
                f"changes made in Kibana are posted here for {self.days} days after the case was linked.",
            ),
        ]


def _menu(action_id: str, label: str, choices: dict[str, str], current: str, link_id: int) -> Block:
    options = [option(text, CardValue(link=link_id, to=value).pack()) for value, text in choices.items()]
    menu: Block = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": {"type": "plain_text", "text": label},
        "options": options,
    }
    chosen = [o for o, value in zip(options, choices, strict=True) if value == current]
    if chosen:
        menu["initial_option"] = chosen[0]
    return menu
