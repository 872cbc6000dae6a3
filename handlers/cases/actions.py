"""The cases feature's actions: `case [<title>]`, the `open_case` shortcut, the `case_open` button on
alert messages and the two case modals; attaching alerts to a case (*Add to case…* on alert and group
messages) and adding any message to one (the `add_to_case` shortcut); their rows of the catalog,
their arguments and their parsers."""

from __future__ import annotations

from collections.abc import Callable
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
CASE_ATTACH = "case_attach"  # *Add to case…* on alert and group messages (block_actions action_id)
ATTACH_MODAL = "case_attach_modal"  # view callback_id
ADD_TO_CASE_SHORTCUT = "add_to_case"  # message shortcut callback_id ("Add to Kibana case")
ADD_MODAL = "case_add_message_modal"  # view callback_id
CASE_PICK = "case_pick"  # the external_select of open cases in both modals (block and action id)

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

ATTACH = Action(
    "attach",
    "attach   (on an alert or group message: *Add to case…*)",
    Role.RESPONDER,
    "attach alerts to cases (`attach`)",
    action_ids=(CASE_ATTACH,),
    views=(ATTACH_MODAL,),
)
ADD = Action(
    "add",
    "add   (on any message: the *Add to Kibana case* shortcut)",
    Role.RESPONDER,
    "add messages to cases (`add`)",
    views=(ADD_MODAL,),
    shortcuts=(ADD_TO_CASE_SHORTCUT,),
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


# `attach` and `add` start from a Slack message, not from typed words: the command says where to find them.
FROM_SLACK = {
    ATTACH.name: (
        "Attach an alert to a Kibana case with *Add to case…* on its alert message (on a group message it "
        "attaches the alerts the message counts)."
    ),
    ADD.name: "Add a message to a Kibana case with the message's ⋮ menu → *Add to Kibana case*.",
}


def _from_slack(name: str) -> Callable[[list[str]], Command]:
    def parse(words: list[str]) -> Command:
        if words:
            raise UsageError(f"`{name}` takes no arguments. {FROM_SLACK[name]}", name)
        return Command(name)

    return parse


ACTIONS = Actions(
    rows=(CASE, ATTACH, ADD, CASE_STATUS, CASE_SYNC),
    parsers={"case": _case, ATTACH.name: _from_slack(ATTACH.name), ADD.name: _from_slack(ADD.name)},
    explain=explain,
)
