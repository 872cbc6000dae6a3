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
OPEN_CASE_STEP = "kibana_open_case"  # Workflow Builder step (manifest.json `functions`)

CASE = Action(
    "case",
    "case [<title>]",
    Role.RESPONDER,
    "open cases (`case`)",
    action_ids=(CASE_OPEN,),
    views=(CASE_MODAL, COMMENT_MODAL),
    shortcuts=(OPEN_CASE_SHORTCUT,),
    steps=(OPEN_CASE_STEP,),
)

TITLE_LIMIT = 160  # Kibana's limit of a case title


@dataclass(frozen=True)
class CaseArgs:
    title: str = ""


def _case(words: list[str]) -> Command:
    title = " ".join(words).strip()
    if len(title) > TITLE_LIMIT:
        raise UsageError(f"A case title has at most {TITLE_LIMIT} characters; yours has {len(title)}.", CASE.name)
    return Command(CASE.name, CaseArgs(title))


ACTIONS = Actions(rows=(CASE,), parsers={"case": _case}, explain=explain)
