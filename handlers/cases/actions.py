"""The cases feature's action: `case [<title>]`, the `open_case` shortcut, the `case_open` button on
alert messages and the two case modals; its row of the catalog, its argument and its parser."""

from __future__ import annotations

from dataclasses import dataclass

from bot.access import Role
from handlers.cases.explain import explain
from handlers.shared.catalog import Action, Actions
from handlers.shared.grammar import Command, UsageError

CASE_OPEN = "case_open"  # the button on alert messages (block_actions action_id)
CASE_MODAL = "case_create_modal"  # view callback_id
COMMENT_MODAL = "case_comment_modal"  # view callback_id
OPEN_CASE_SHORTCUT = "open_case"  # message shortcut callback_id

CASE = Action(
    "case",
    "case [<title>]",
    Role.RESPONDER,
    "open cases (`case`)",
    action_ids=(CASE_OPEN,),
    views=(CASE_MODAL, COMMENT_MODAL),
    shortcuts=(OPEN_CASE_SHORTCUT,),
)

# The case card in a linked case's thread (handlers/cases/card.py): its menus change the case in Kibana
# (operators), its buttons turn the thread's sync with the case on and off (responders). Typed as
# `case status` or `case sync`, the command says where the card is.
CARD_STATUS = "case_card_status"  # static_select: open, in-progress, closed
CARD_SEVERITY = "case_card_severity"  # static_select: low, medium, high, critical
CARD_SYNC = "case_card_sync"  # button: Sync this thread
CARD_UNSYNC = "case_card_unsync"  # button: Stop syncing
CARD_LINK = "case_card_link"  # performs no action: a link the client opens
CASE_STATUS = Action(
    "case status",
    "case status   (the case card's Status and Severity menus, in the case's thread)",
    Role.OPERATOR,
    "change a case's status or severity",
    action_ids=(CARD_STATUS, CARD_SEVERITY),
)
CASE_SYNC = Action(
    "case sync",
    "case sync   (the case card's Sync this thread and Stop syncing buttons)",
    Role.RESPONDER,
    "sync a thread with its case",
    action_ids=(CARD_SYNC, CARD_UNSYNC),
)

TITLE_LIMIT = 160  # Kibana's limit of a case title


@dataclass(frozen=True)
class CaseArgs:
    title: str = ""


def _case(words: list[str]) -> Command:
    if [w.lower() for w in words] in (["status"], ["sync"]):  # the card's actions, asked about by name
        return Command(f"case {words[0].lower()}", CaseArgs())
    title = " ".join(words).strip()
    if len(title) > TITLE_LIMIT:
        raise UsageError(f"A case title has at most {TITLE_LIMIT} characters; yours has {len(title)}.", CASE.name)
    return Command(CASE.name, CaseArgs(title))


ACTIONS = Actions(rows=(CASE, CASE_STATUS, CASE_SYNC), parsers={"case": _case}, explain=explain)
